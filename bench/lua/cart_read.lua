-- GET /api/v1/carts/{id} of a random bench cart (three lines): the cart with its lines, then the batched
-- price look-up.
local carts = dofile("bench/lua/cart_ids.lua")
setup = carts.setup
init = carts.init
request = function()
  return wrk.format("GET", "/api/v1/carts/" .. carts.random_id())
end
