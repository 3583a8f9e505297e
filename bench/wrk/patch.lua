-- PATCH <url path><id> for a random id from the file given as the second argument (the first
-- is the run label): a small change (views and summary).
dofile("common.lua")

local ids, prefix

function init(args)
  ids = read_ids(args[2])
  prefix = wrk.path
  wrk.headers["Content-Type"] = "application/json"
  math.randomseed(os.time() * 100 + tid)
end

function request()
  local views = math.random(0, 1000000)
  local body = string.format('{"views":%d,"summary":"Edited by wrk: %d views"}', views, views)
  return wrk.format("PATCH", prefix .. ids[math.random(#ids)], nil, body)
end
