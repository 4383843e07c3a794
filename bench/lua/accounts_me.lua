-- GET /api/v1/me with a valid access token (BENCH_ACCESS_TOKEN, made by scripts/bench.sh): JWT
-- verification, the principal check (cached per user) and one primary-key read.
-- The request never changes, so it is set once and wrk sends it without calling into Lua per request:
-- the load generator shares the machine's cores with bazaar and PostgreSQL, and a request() function
-- formatting the same bytes every time costs wrk more than bazaar spends on some requests.
wrk.method = "GET"
wrk.path = "/api/v1/me"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_ACCESS_TOKEN")
