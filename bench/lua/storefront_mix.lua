-- A storefront's mix: 80% product pages from the hot set (cached), 15% add-to-cart on the bench carts
-- (bench/scenarios/cart.sh), 5% checkouts of fresh carts (bench/scenarios/orders.sh).
local products = dofile("bench/lua/catalog_ids.lua")(1000)
local carts = dofile("bench/lua/cart_ids.lua")
local checkout = dofile("bench/lua/orders_carts.lua")
local variant = os.getenv("BENCH_CART_VARIANT")
assert(variant and variant ~= "", "BENCH_CART_VARIANT is not set")
local add_body = '{"variant_id":"' .. variant .. '","quantity":1}'
local json = { ["Content-Type"] = "application/json" }
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  thread:set("seed", os.time() * 1000 + threads)
  threads = threads + 1
end

function init(args)
  math.randomseed(seed)
  checkout.init(offset)
end

request = function()
  local r = math.random(100)
  if r <= 80 then
    return wrk.format("GET", "/api/v1/products/" .. products[math.random(#products)])
  elseif r <= 95 then
    return wrk.format("POST", "/api/v1/carts/" .. carts.random_id() .. "/items", json, add_body)
  end
  return checkout.checkout_request()
end
