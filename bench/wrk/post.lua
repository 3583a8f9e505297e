-- POST a new page to the URL path. Titles are unique per request: the run label (first
-- argument: bench/run.py gives each scenario and round its own), the thread number and a
-- per-thread counter; the slug is derived from the title.
dofile("common.lua")

local label, counter = "run", 0
local text = string.rep("Written by the benchmark to measure page creation. ", 24)

function init(args)
  label = args[1] or label
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"title":"Bench %s t%d n%d","body":"%s","summary":"Created by wrk",' ..
    '"tags":["bench","t%d"],"status":"DRAFT","metadata":{"source":"wrk","n":%d}}',
    label, tid, counter, text, tid, counter)
  return wrk.format("POST", nil, nil, body)
end
