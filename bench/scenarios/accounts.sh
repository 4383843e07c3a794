# shellcheck shell=bash
# shellcheck disable=SC2034  # sets globals that scripts/bench.sh reads
# Accounts scenarios for scripts/bench.sh (sourced; uses its helpers).

# Registers and logs in a bench user through the API, then measures GET /api/v1/me with its token.
bench_accounts_me() {
  local email password body token user_id base="http://127.0.0.1:$BAZAAR_PORT/api/v1/auth"
  email="bench-$(date +%s%N)@example.com"
  password="Bench-Password-2026"
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\",\"first_name\":\"Bench\",\"last_name\":\"User\"}" \
    "$base/register" || die "could not register the bench user"
  body=$(curl -fsS -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
    "$base/login") || die "could not log in the bench user"
  token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$body")
  user_id=$(local_psql -d "$BENCH_DB" -At -c "SELECT id FROM accounts.users WHERE email = '$email'")
  export BENCH_ACCESS_TOKEN=$token
  PGBENCH_DEFINES=(-D "userid=$user_id")
  scenario "GET /api/v1/me" bench/lua/accounts_me.lua "P(accounts_me)" 0.50 20
  PGBENCH_DEFINES=()
}

bench_accounts() {
  # GET /api/v1/me with a valid token against its SQL (bench/pgbench/accounts_me.sql).
  bench_accounts_me
}
