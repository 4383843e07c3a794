-- GET /api/v1/me: the statement the endpoint runs per request (modules/accounts/src/repository.cpp,
-- find_user); the principal check's status read is cached for accounts.status_cache_seconds.
-- :userid is passed by scripts/bench.sh as a quoted UUID literal (-D userid="'…'").
SELECT id::text, email, password_hash, first_name, last_name, phone, role, status, email_verified::int,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM accounts.users WHERE id = CAST(:userid AS uuid);
