-- GET <url path><id> for an id picked at random from the file given as the first argument.
dofile("common.lua")

local ids, prefix

function init(args)
  ids = read_ids(args[1])
  prefix = wrk.path
  math.randomseed(os.time() * 100 + tid)
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
