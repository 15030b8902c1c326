-- pipeline.lua: send DEPTH requests per write (HTTP/1.1 pipelining).
-- `wrk -s script URL -- DEPTH` (default 16); wrk counts every response, so
-- requests/s stays per request, and latency is per batch of DEPTH.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local batch = {}
   for i = 1, depth do
      batch[i] = wrk.format(nil, wrk.path)
   end
   pipelined = table.concat(batch)
end

request = function()
   return pipelined
end

-- report.lua: wrk's done() hook, appended to every wrk script the harness runs.
-- Prints one line "BENCH_JSON {...}": the counts, and wrk's own latency mean
-- and percentiles in microseconds (what `wrk --latency` prints, p95 added).
-- These include wrk's coordinated-omission correction; where that correction
-- leaves a percentile undefined, wrk answers 0 and the harness shows "—".
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
      '"mean_us": %.1f, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), latency.max))
end
