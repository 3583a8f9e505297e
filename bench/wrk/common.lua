-- Shared by every scenario (wrk runs with bench/wrk as its working directory):
-- numbers each thread, counts non-2xx responses, and prints one JSON summary line for
-- bench/run.py.  Each wrk thread has its own Lua state: counters are per thread and summed
-- in done(), which runs in the main state.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

non2xx = 0
last_bad_status = 0

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    last_bad_status = status
  end
end

-- Ids, one per line, written by bench/run.py.
function read_ids(path)
  local ids = {}
  for line in io.lines(path) do
    ids[#ids + 1] = line
  end
  assert(#ids > 0, "no ids in " .. path)
  return ids
end

function done(summary, latency, requests)
  local bad, status = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    if thread:get("last_bad_status") ~= 0 then
      status = thread:get("last_bad_status")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f},' ..
    '"non2xx":%d,"last_bad_status":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    bad, status,
    e.connect, e.read, e.write, e.timeout, e.status))
end
