-- Full-text searches as shoppers type them (two or three words, over seed-demo's vocabulary), ranked by
-- relevance, 20 per page.
local queries = {
  "merino wool scarf", "leather chelsea boots", "linen duvet cover", "organic cotton t-shirt", "ceramic vase",
  "running jacket", "canvas backpack", "cashmere sweater", "oak cutting board", "brass table lamp",
  "suede sneakers", "yoga mat", "waterproof parka", "silk blouse", "denim jeans", "wool beanie",
  "cork sandals", "glass pendant light", "recycled nylon duffel bag", "alpaca shawl", "stoneware mug",
  "corduroy trousers", "vintage leather wallet", "walnut salad bowl", "breathable running shorts",
  "coastal linen shirt", "rugged hiking boots", "cozy throw blanket", "minimalist card holder",
  "heritage tweed flat cap",
}
local paths = {}
for i, q in ipairs(queries) do
  paths[i] = "/api/v1/products?limit=20&q=" .. q:gsub(" ", "%%20")
end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
