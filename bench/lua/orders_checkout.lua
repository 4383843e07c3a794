-- POST /api/v1/orders: a guest checkout with tok_visa and an Idempotency-Key, each request on a cart no
-- other request uses. bench/scenarios/orders.sh writes a fresh slice of prepared cart ids to
-- $BENCH_CHECKOUT_CARTS before every wrk run; wrk thread i of $BENCH_WRK_THREADS takes ids i, i+T, i+2T...
local carts = dofile("bench/lua/orders_carts.lua")
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  carts.init(offset)
end

request = function()
  return carts.checkout_request()
end
