-- Shared by the cart scripts: the bench carts that bench/scenarios/cart.sh made. Cart n (1..BENCH_CARTS)
-- has the id "cb000000-0000-7000-8000-<n as 12 decimal digits>", the formula bench/pgbench/cart_*.sql
-- compute it by, so wrk and pgbench pick from the same carts without an id file.
local M = {}
M.count = tonumber(os.getenv("BENCH_CARTS") or "")
assert(M.count and M.count > 0, "BENCH_CARTS is not set")

function M.random_id()
  return string.format("cb000000-0000-7000-8000-%012d", math.random(M.count))
end

-- wrk runs one Lua state per thread: seeded alike, the threads would walk the same carts in lockstep and
-- queue on the same cart rows. setup() runs in the main state and numbers them.
local threads = 0
function M.setup(thread)
  threads = threads + 1
  thread:set("seed", os.time() * 1000 + threads)
end
function M.init()
  math.randomseed(seed)
end

return M
