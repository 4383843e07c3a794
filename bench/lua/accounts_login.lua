-- POST /api/v1/auth/login over BENCH_LOGIN_USERS users bench-login-<n>@example.com, all with the password
-- BENCH_LOGIN_PASSWORD (seeded by bench/scenarios/accounts.sh). Counts the answers by status; done() prints
--   login-statuses ok=<200s> unavailable=<503s> retry_after=<503s with Retry-After> other=<any other>
-- which the scenario reads to tell a bounded queue (503 + Retry-After) from a pile-up or errors.
-- Clients behave as the API asks: after a 503 the next request waits Retry-After seconds. wrk's delay() does
-- not say which connection asks, so each 503 delays one next request of this thread (the same number of
-- clients wait, give or take which ones).
local users = tonumber(os.getenv("BENCH_LOGIN_USERS") or "200")
local password = os.getenv("BENCH_LOGIN_PASSWORD")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, unavailable, retry_after, other = 0, 0, 0, 0
  backoffs = {}  -- milliseconds to wait, one entry per 503 not yet waited for
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

request = function()
  local body = string.format('{"email":"bench-login-%d@example.com","password":"%s"}', math.random(users), password)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end

delay = function()
  if #backoffs == 0 then return 0 end
  return table.remove(backoffs, 1)
end

response = function(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    unavailable = unavailable + 1
    local seconds = tonumber(headers["Retry-After"] or headers["retry-after"] or "")
    if seconds then
      retry_after = retry_after + 1
      table.insert(backoffs, seconds * 1000)
    end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { ok = 0, unavailable = 0, retry_after = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + (thread:get(name) or 0) end
  end
  io.write(string.format("login-statuses ok=%d unavailable=%d retry_after=%d other=%d\n",
    totals.ok, totals.unavailable, totals.retry_after, totals.other))
end
