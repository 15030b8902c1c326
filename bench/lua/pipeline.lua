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
