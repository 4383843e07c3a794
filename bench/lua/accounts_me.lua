-- GET /api/v1/me with a valid access token (BENCH_ACCESS_TOKEN, made by scripts/bench.sh): JWT
-- verification, the principal check (cached per user) and one primary-key read.
local token = os.getenv("BENCH_ACCESS_TOKEN")
request = function()
  return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. token })
end
