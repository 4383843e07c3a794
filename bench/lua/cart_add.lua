-- POST /api/v1/carts/{id}/items: one more unit of BENCH_CART_VARIANT (a line every bench cart has) in a
-- random bench cart. Quantities grow by a few units per line over a run, far from the 999 cap and from the
-- variant's availability (bench/scenarios/cart.sh).
local carts = dofile("bench/lua/cart_ids.lua")
local variant = os.getenv("BENCH_CART_VARIANT")
assert(variant and variant ~= "", "BENCH_CART_VARIANT is not set")
local body = '{"variant_id":"' .. variant .. '","quantity":1}'
local headers = { ["Content-Type"] = "application/json" }
setup = carts.setup
init = carts.init
request = function()
  return wrk.format("POST", "/api/v1/carts/" .. carts.random_id() .. "/items", headers, body)
end
