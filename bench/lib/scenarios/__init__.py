"""The scenarios, in the order bench/run runs them. Each module has run(ctx) -> Section."""

ORDER = ["seed000", "seed001", "seed002", "seed003", "throughput", "connections", "scaling", "hog"]
