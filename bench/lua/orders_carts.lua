-- Shared by the orders scripts: this wrk thread's share of the prepared checkout carts and the checkout
-- request for the next one. Running out wraps around (those checkouts fail with 409: the slice was too small
-- for the run, and the scenario reports non-2xx responses).
local M = {}
local ids, next_index, stride = {}, 1, tonumber(os.getenv("BENCH_WRK_THREADS") or "2")
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1000000))

function M.init(offset)
  local path = os.getenv("BENCH_CHECKOUT_CARTS") or ".local/bench-checkout-carts.txt"
  local n = 0
  for line in io.lines(path) do
    if line ~= "" then
      if n % stride == offset then ids[#ids + 1] = line end
      n = n + 1
    end
  end
  assert(#ids > 0, "no checkout carts in " .. path)
  prefix = prefix .. "-" .. tostring(offset)
end

function M.checkout_request()
  local cart = ids[next_index]
  next_index = next_index % #ids + 1
  local body = '{"cart_id":"' .. cart .. '","email":"bench-buyer@example.com",' ..
    '"shipping_address":{"first_name":"Bench","last_name":"Buyer","line1":"Hauptstrasse 1","city":"Berlin",' ..
    '"postal_code":"10115","country":"DE"},"shipping_option_id":"standard",' ..
    '"payment":{"method":"test_card","token":"tok_visa"}}'
  return wrk.format("POST", "/api/v1/orders",
    { ["Content-Type"] = "application/json", ["Idempotency-Key"] = "bench-" .. prefix .. "-" .. cart }, body)
end

return M
