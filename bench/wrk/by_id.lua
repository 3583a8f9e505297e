-- GET <url path><id><suffix> for an id picked at random from the file given as the second
-- argument (the first is the run label); the optional third argument is appended to the path
-- (a query string such as "?include=author,tagItems").
dofile("common.lua")

local ids, prefix, suffix

function init(args)
  ids = read_ids(args[2])
  prefix = wrk.path
  suffix = args[3] or ""
  math.randomseed(os.time() * 100 + tid)
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix)
end
