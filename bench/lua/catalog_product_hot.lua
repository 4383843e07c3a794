-- GET /api/v1/products/{id} over the 1000 newest published products: a hot set, as real shop traffic
-- has, which the response cache keeps (each entry is reloaded once per catalog.cache_ttl_ms).
local ids = dofile("bench/lua/catalog_ids.lua")(1000)
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)])
end
