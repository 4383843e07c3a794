-- GET /api/v1/products/{id} uniformly over every published product (100k after seed-demo): with the cache
-- off every request is a database read; with it on, this fills the cache up to its byte budget.
local ids = dofile("bench/lua/catalog_ids.lua")(nil)
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)])
end
