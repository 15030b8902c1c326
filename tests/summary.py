"""Print the suite's closing line from meson's testlog.json: 'N passed, N failed'.

Counts individual test cases where a test reports them (doctest's and
pytest's JUnit-free summaries are parsed from their output); a meson test
that failed without a parsable count counts as one failure.
"""
import json
import re
import sys

DOCTEST = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
PYTEST_PART = re.compile(r"(\d+) (passed|failed|error|errors|skipped|xfailed|xpassed)")


def counts(entry):
    out = entry.get("stdout", "") or ""
    m = DOCTEST.search(out)
    if m:
        return int(m.group(2)), int(m.group(3)), int(m.group(4))
    lines = [line for line in out.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    if lines:
        found = {kind: int(n) for n, kind in PYTEST_PART.findall(lines[-1])}
        failed = found.get("failed", 0) + found.get("error", 0) + found.get("errors", 0)
        return found.get("passed", 0), failed, found.get("skipped", 0)
    return (1, 0, 0) if entry.get("result") == "OK" else (0, 1, 0)


def main(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            p, fl, s = counts(entry)
            if entry.get("result") not in ("OK", "SKIP") and fl == 0:
                fl = 1  # crashed or timed out before reporting
            passed, failed, skipped = passed + p, failed + fl, skipped + s
    print(f"{passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1])
