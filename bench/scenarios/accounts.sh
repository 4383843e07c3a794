# shellcheck shell=bash
# shellcheck disable=SC2034  # sets globals that scripts/bench.sh reads
# Accounts scenarios for scripts/bench.sh (sourced; uses its helpers).

LOGIN_USERS=${BENCH_LOGIN_USERS:-200}      # read by bench/lua/accounts_login.lua
LOGIN_PASSWORD=Bench-Login-Password-2026
LOGIN_CONNECTIONS=${BENCH_LOGIN_CONNECTIONS:-8}   # login throughput: enough to keep the hashing pool busy
BURST_CONNECTIONS=${BENCH_BURST_CONNECTIONS:-200}

# config_value KEY_PATH: the effective value of a config key (BAZAAR_A__B overrides config/default.json).
config_value() {
  local key=$1 env_name
  env_name=BAZAAR_$(tr '[:lower:].' '[:upper:]_' <<<"${key//./__}")
  if [[ -n ${!env_name:-} ]]; then
    echo "${!env_name}"
  else
    python3 -c 'import json, sys
value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."): value = value[part]
print(value)' config/default.json "$key"
  fi
}

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

# Builds the Argon2id timing tool next to bazaar (bench/argon2_timing.cpp).
build_argon2_timer() {
  if [[ ${BAZAAR_NO_BUILD:-0} != 1 ]]; then
    cmake --build "$BUILD_DIR" --target bazaar_bench_argon2 >/dev/null || die "could not build bazaar_bench_argon2"
  fi
  [[ -x $ARGON2_BIN ]] || die "missing $ARGON2_BIN"
}

# LOGIN_USERS users bench-login-<n>@example.com with LOGIN_PASSWORD, hashed with bazaar's parameters by the
# timing tool and inserted directly (registering them through the API would cost a hash each).
seed_login_users() {
  local hash
  hash=$("$ARGON2_BIN" hash <<<"$LOGIN_PASSWORD") || die "could not hash the bench password"
  local_psql -d "$BENCH_DB" -c "
    INSERT INTO accounts.users (id, email, password_hash, first_name, last_name)
    SELECT gen_random_uuid(), 'bench-login-' || n || '@example.com', '$hash', 'Bench', 'Login'
    FROM generate_series(1, $LOGIN_USERS) AS n
    ON CONFLICT (email) DO NOTHING" >/dev/null
  export BENCH_LOGIN_USERS=$LOGIN_USERS BENCH_LOGIN_PASSWORD=$LOGIN_PASSWORD
}

# hash_baseline → logins/s the hashing pool could do at most: hash_threads ÷ (median time of one check).
hash_baseline() {
  local ms
  ms=$("$ARGON2_BIN" time 30 2>>"$LOG_DIR/bench-argon2.log") || die "bazaar_bench_argon2 failed"
  calc "$HASH_THREADS * 1000 / $ms"
}

# Login throughput (POST /api/v1/auth/login, valid credentials) against what the hashing pool can do at
# most, alternated like scenario(): every answer must be a 200.
bench_accounts_login() {
  local want=0.70 p99_max=2000 i out r p50 p99 nb ne bad=0 errors=0
  local -a rps=() p50s=() p99s=() base=()
  info "login: warm-up, then $PAIRS pairs (bazaar, $HASH_THREADS ÷ t(hash)) × $DURATION at $LOGIN_CONNECTIONS connections"
  CONNECTIONS=$LOGIN_CONNECTIONS run_wrk bench/lua/accounts_login.lua "$BAZAAR_PORT" "$WARMUP" >/dev/null
  for ((i = 1; i <= PAIRS; i++)); do
    out=$(CONNECTIONS=$LOGIN_CONNECTIONS run_wrk bench/lua/accounts_login.lua "$BAZAAR_PORT" "$DURATION")
    read -r r p50 p99 nb ne <<<"$out"
    rps+=("$r"); p50s+=("$p50"); p99s+=("$p99"); bad=$((bad + nb)); errors=$((errors + ne))
    out=$(hash_baseline)
    base+=("$out")
    info "  pair $i: bazaar $r logins/s (p99 $p99 ms), baseline $out hashes/s"
  done
  judge_ratio "POST /auth/login, c=$LOGIN_CONNECTIONS" "$want" "$p99_max" "$bad non-2xx, $errors socket errors" \
    "$((bad + errors))" "$HASH_THREADS/t(hash)" rps base p50s p99s
}

# wrk_p99_ms FILE: the p99 latency of a saved wrk --latency output, in milliseconds.
wrk_p99_ms() {
  awk '$1 == "99%" {
    v = $2; n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.1f\n", n
  }' "$1"
}

# start_login_burst SECONDS OUT: BURST_CONNECTIONS clients logging in again as soon as they are answered,
# after a 503 once its Retry-After has passed (bench/lua/accounts_login.lua), in the background; sets BURST_PID.
start_login_burst() {
  wrk -t1 -c"$BURST_CONNECTIONS" -d"${1}s" --timeout 10s --latency -s bench/lua/accounts_login.lua \
    "http://127.0.0.1:$BAZAAR_PORT/" >"$2" 2>&1 &
  BURST_PID=$!
}

# Public reads (cached catalog products) alone, then during a login burst, alternated; plus what the burst
# itself got: logins served, 503s (each must carry Retry-After), anything else (must be none).
bench_accounts_burst() {
  local want=0.70 p99_max=10 i out r p50 p99 nb ne bad=0 errors=0 burst_out=$LOG_DIR/bench-login-burst.out
  local seconds statuses ok=0 unavailable=0 retry_after=0 other=0 burst_errors=0 login_p99s=()
  local -a alone=() during=() p50s=() p99s=()
  seconds=$(to_seconds "$DURATION")
  info "reads during a login burst (c=$BURST_CONNECTIONS): warm-up, then $PAIRS pairs (alone, during) × $DURATION"
  run_wrk bench/lua/catalog_product_hot.lua "$BAZAAR_PORT" "$WARMUP" >/dev/null
  for ((i = 1; i <= PAIRS; i++)); do
    out=$(run_wrk bench/lua/catalog_product_hot.lua "$BAZAAR_PORT" "$DURATION")
    read -r r p50 p99 nb ne <<<"$out"
    alone+=("$r"); bad=$((bad + nb)); errors=$((errors + ne))
    # The burst starts first and outlasts the reads by a second each side, so that the reads see only the
    # steady state: a full hashing queue and the rest turned away.
    start_login_burst $((seconds + 2)) "$burst_out"
    sleep 1
    out=$(run_wrk bench/lua/catalog_product_hot.lua "$BAZAAR_PORT" "$DURATION")
    wait "$BURST_PID" || die "the login burst's wrk failed (output: $burst_out)"
    cat "$burst_out" >>"$LOG_DIR/bench-wrk.log"
    read -r r p50 p99 nb ne <<<"$out"
    during+=("$r"); p50s+=("$p50"); p99s+=("$p99"); bad=$((bad + nb)); errors=$((errors + ne))
    statuses=$(grep '^login-statuses ' "$burst_out") || die "no login statuses in $burst_out"
    read -r ok unavailable retry_after other \
      < <(sed -E 's/.* ok=([0-9]+) unavailable=([0-9]+) retry_after=([0-9]+) other=([0-9]+).*/\1 \2 \3 \4/' <<<"$statuses")
    burst_errors=$(awk '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$burst_out")
    login_p99s+=("$(wrk_p99_ms "$burst_out")")
    info "  pair $i: alone ${alone[-1]} req/s, during the burst $r req/s (p99 $p99 ms);" \
      "burst: $ok logins, $unavailable × 503 ($retry_after with Retry-After), $other other, ${burst_errors:-0} socket errors"
    BURST_TOTALS+=("$ok $unavailable $retry_after $other ${burst_errors:-0}")
  done
  judge_ratio "reads during login burst" "$want" "$p99_max" "$bad non-2xx, $errors socket errors" \
    "$((bad + errors))" "alone" during alone p50s p99s
  judge_burst "${login_p99s[@]}"
}

# judge_burst LOGIN_P99_MS...: the login queue was bounded — some logins were turned away (the bound was
# reached), every one of those with 503 + Retry-After, no other status and no timeouts.
judge_burst() {
  local line ok=0 unavailable=0 retry_after=0 other=0 socket=0 a b c d e verdict seconds
  for line in "${BURST_TOTALS[@]}"; do
    read -r a b c d e <<<"$line"
    ok=$((ok + a)); unavailable=$((unavailable + b)); retry_after=$((retry_after + c)); other=$((other + d))
    socket=$((socket + e))
  done
  seconds=$((PAIRS * ($(to_seconds "$DURATION") + 2)))
  if ((other > 0 || socket > 0)); then
    verdict="FAIL ($other other statuses, $socket socket errors)"
  elif ((unavailable == 0)); then
    verdict="FAIL (no 503: the queue bound was never reached)"
  elif ((retry_after != unavailable)); then
    verdict="FAIL ($((unavailable - retry_after)) × 503 without Retry-After)"
  else
    verdict="ok ($unavailable × 503 + Retry-After, $ok logins)"
  fi
  # bazaar: logins served per second; baseline column: logins turned away per second; p99: the logins'.
  row "login burst, c=$BURST_CONNECTIONS" "$(printf '%.0f ok/s' "$(calc "$ok / $seconds")")" \
    "$(printf '%.0f 503/s' "$(calc "$unavailable / $seconds")")" "" "queue $HASH_QUEUE, beyond: 503+Retry-After" \
    "" "$(printf '%.0f ms' "$(median "$@")")" "$verdict"
}

bench_accounts() {
  ARGON2_BIN=$BUILD_DIR/bench/bazaar_bench_argon2
  HASH_THREADS=$(config_value auth.hash_threads)
  HASH_QUEUE=$(config_value auth.hash_queue)
  BURST_TOTALS=()
  build_argon2_timer
  seed_login_users
  # GET /api/v1/me with a valid token against its SQL (bench/pgbench/accounts_me.sql).
  bench_accounts_me
  # Login throughput against auth.hash_threads ÷ (time of one Argon2id check, bench/argon2_timing.cpp).
  bench_accounts_login
  # Public reads keep their throughput and latency while 200 clients log in; the hashing queue stays bounded.
  bench_accounts_burst
}
