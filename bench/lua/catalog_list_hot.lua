-- 20-item list pages a shop front asks for all the time: the first page of each sort and of the
-- top-level categories (seed-demo's slugs). All of them stay in the response cache.
local paths = {
  "/api/v1/products?limit=20",
  "/api/v1/products?limit=20&sort=price_asc",
  "/api/v1/products?limit=20&sort=price_desc",
  "/api/v1/products?limit=20&sort=title",
  "/api/v1/products?limit=20&in_stock=true",
  "/api/v1/products?limit=20&category=clothing",
  "/api/v1/products?limit=20&category=footwear",
  "/api/v1/products?limit=20&category=accessories",
  "/api/v1/products?limit=20&category=home",
  "/api/v1/products?limit=20&category=sports",
  "/api/v1/products?limit=20&category=knitwear&sort=price_asc",
  "/api/v1/products?limit=20&category=boots&sort=price_desc",
}
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
