-- GET /api/v1/me: the statement the endpoint runs per request (modules/accounts/src/repository.cpp,
-- find_user, prepared once per connection like pgbench -M prepared does); the principal check's status read
-- is cached for accounts.status_cache_seconds.
-- :userid comes from scripts/bench.sh (-D userid=…). The time format quotes its colons ("HH24":"MI") so that
-- pgbench does not take :MI and :SS for variables; the output is the same.
SELECT id::text, email, password_hash, first_name, last_name, phone, role, status, email_verified::int,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"')
FROM accounts.users WHERE id = CAST(:userid AS uuid);
