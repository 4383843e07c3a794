#!/usr/bin/env bash
# Benchmarks bazaar on loopback against baselines measured in the same run, and prints one table.
#
# The machine is noisy, so every throughput figure is a ratio to a baseline run alternately with it
# (A/B/A/B, BENCH_PAIRS pairs, after a warm-up). The ratio is the median of each pair's own ratio: the
# machine switches between a fast and a slow state (baselines here differ by up to 2x from one minute to
# the next), and the two runs of a pair, seconds apart, see the same one; the median of each side alone
# may pair a fast run with a slow one. The table shows each side's median too.
#   H     bench/hello_server.cpp: a minimal Beast server with bazaar's thread count — what HTTP costs here
#   P(x)  pgbench -M prepared running bench/pgbench/x.sql (exactly the SQL the endpoint runs) with as many
#         clients as bazaar's database pool — what the database costs here
# A ratio fails only when it misses its target by more than the spread of the baseline's own runs
# ((max − min) / median); p99 bounds, idle RSS and start-to-ready time are absolute. Exit status 1 when
# any target is missed.
#
# Settings (environment): BENCH_DURATION (5s), BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (2),
# BENCH_PAIRS (3), BENCH_WARMUP (2s), BENCH_BAZAAR_PORT (18080), BENCH_HELLO_PORT (18081),
# BENCH_CATALOG_PRODUCTS (100000, the demo catalog's size), BENCH_BUILD_DIR (build/release: a release build
# directory of your own is configured and built there), BENCH_EXTERNAL_SERVICES=1 (use the PostgreSQL and
# Redis already answering on BAZAAR_PG_PORT / BAZAAR_REDIS_PORT instead of scripts/services.sh).
# BENCH_DATABASE (bazaar_bench) and BENCH_LOG_DIR (.local/logs) for runs side by side.
# BENCH_SECTIONS ("catalog accounts cart orders notifications"): which modules' scenarios run, in order;
# GET /healthz, idle RSS and start-up time always run.
# To add a scenario: one `scenario` line in the module's bench/scenarios/<module>.sh (and for P(x) a
# bench/pgbench/x.sql); a new module's file defines bench_<module> and joins BENCH_SECTIONS.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BAZAAR_ROOT"

DURATION=${BENCH_DURATION:-5s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
PAIRS=${BENCH_PAIRS:-3}
WARMUP=${BENCH_WARMUP:-2s}
BAZAAR_PORT=${BENCH_BAZAAR_PORT:-18080}
HELLO_PORT=${BENCH_HELLO_PORT:-18081}
THREADS=$(nproc)
BENCH_DB=${BENCH_DATABASE:-bazaar_bench}
CATALOG_PRODUCTS=${BENCH_CATALOG_PRODUCTS:-100000}
BUILD_DIR=${BENCH_BUILD_DIR:-$BAZAAR_ROOT/build/release}
BIN=$BUILD_DIR/bazaar
HELLO_BIN=$BUILD_DIR/bench/bazaar_bench_hello
LOG_DIR=${BENCH_LOG_DIR:-$BAZAAR_LOCAL/logs}
# bazaar's emails during the run (the file transport): every checkout writes one, hundreds of thousands a
# run. A directory of the run's own, emptied at the start and removed at the end, so that runs neither
# pile them up in .local/mail nor write into a directory that earlier runs filled.
MAIL_DIR=$BAZAAR_LOCAL/bench-mail
export BENCH_PRODUCT_IDS=$BAZAAR_LOCAL/bench-product-ids.txt   # read by bench/lua/catalog_*.lua
for scenarios in bench/scenarios/*.sh; do
  # shellcheck source=/dev/null
  source "$scenarios"
done
read -r -a SECTIONS <<<"${BENCH_SECTIONS:-catalog accounts cart orders notifications}"
if [[ -z ${BENCH_SECTIONS:-} ]]; then   # by default, every module that has scenarios
  for i in "${!SECTIONS[@]}"; do declare -F "bench_${SECTIONS[$i]}" >/dev/null || unset "SECTIONS[$i]"; done
fi
PGBENCH_DEFINES=()            # extra pgbench arguments for P(x) scripts, e.g. (-D products=1000)

BAZAAR_PID=
BAZAAR_EXTRA_ENV=()           # more BAZAAR_A__B=value settings for the next start_bazaar
HELLO_PID=
STARTED_SERVICES=0
FAILED=0
ROWS=()

# ------------------------------------------------------------------------------------------ processes

stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_until 15 eval "! pid_alive $pid"; then
    warn "pid $pid did not stop within 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$BAZAAR_PID"
  BAZAAR_PID=
  stop_pid "$HELLO_PID"
  if [[ $STARTED_SERVICES == 1 ]]; then
    "$BAZAAR_ROOT/scripts/services.sh" stop >/dev/null 2>&1 || true
  fi
  rm -rf "$MAIL_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls URL until it answers 2xx; fails after 15 s or when process PID exits. Sets READY_NS.
wait_http() {
  local url=$1 pid=$2 deadline=$(($(date +%s%N) + 15000000000))
  until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
    pid_alive "$pid" || return 1
    (($(date +%s%N) < deadline)) || return 1
    sleep 0.01
  done
  READY_NS=$(date +%s%N)
}

start_bazaar() {
  local log=$LOG_DIR/bench-bazaar.log t0
  port_open "$BAZAAR_PORT" && die "port $BAZAAR_PORT is already in use"
  t0=$(date +%s%N)
  env "BAZAAR_HTTP__LISTEN=127.0.0.1:$BAZAAR_PORT" BAZAAR_HTTPS__LISTEN='' BAZAAR_ADMIN__LISTEN='' \
    "BAZAAR_HTTP__THREADS=$THREADS" BAZAAR_RATE_LIMIT__ENABLED=false BAZAAR_LOG__LEVEL=warn \
    "BAZAAR_NOTIFICATIONS__EMAIL__DIR=$MAIL_DIR" "${BAZAAR_EXTRA_ENV[@]}" "$BIN" serve >"$log" 2>&1 &
  BAZAAR_PID=$!
  if ! wait_http "http://127.0.0.1:$BAZAAR_PORT/readyz" "$BAZAAR_PID"; then
    tail -n 20 "$log" >&2
    die "bazaar serve did not become ready (log: $log)"
  fi
  READY_MS=$(((READY_NS - t0) / 1000000))
}

# restart_bazaar [BAZAAR_A__B=value ...]: restarts bazaar with those settings on top of its defaults.
restart_bazaar() {
  stop_pid "$BAZAAR_PID"
  BAZAAR_PID=
  BAZAAR_EXTRA_ENV=("$@")
  start_bazaar
}

start_hello() {
  local log=$LOG_DIR/bench-hello.log
  port_open "$HELLO_PORT" && die "port $HELLO_PORT is already in use"
  "$HELLO_BIN" "$HELLO_PORT" "$THREADS" >"$log" 2>&1 &
  HELLO_PID=$!
  wait_http "http://127.0.0.1:$HELLO_PORT/" "$HELLO_PID" || die "the baseline server did not start (log: $log)"
}

# -------------------------------------------------------------------------------------------- runners

# ms VALUE_WITH_UNIT is done in awk below; wrk prints latencies as 812.00us, 1.20ms, 2.00s, 1.00m.
# run_wrk TARGET PORT DURATION → "req/s p50_ms p99_ms non_2xx_3xx socket_errors"
# TARGET is a path ("/healthz") or a Lua script (bench/lua/x.lua) that builds the requests itself.
# WRK_BEFORE_RUN, when set, names a function run before wrk (CURRENT_WRK_DURATION holds the duration): e.g.
# handing a Lua script fresh data that no earlier run consumed.
run_wrk() {
  local target=$1 port=$2 duration=$3 url out
  local -a args=(-t"$WRK_THREADS" -c"$CONNECTIONS" -d"$duration" --latency)
  if [[ $target == *.lua ]]; then
    args+=(-s "$target")
    url=http://127.0.0.1:$port/
  else
    url=http://127.0.0.1:$port$target
  fi
  # shellcheck disable=SC2034  # read by WRK_BEFORE_RUN hooks
  CURRENT_WRK_DURATION=$duration
  if [[ -n ${WRK_BEFORE_RUN:-} ]]; then "$WRK_BEFORE_RUN"; fi   # e.g. hand the Lua script fresh data
  out=$(wrk "${args[@]}" "$url" 2>&1) || { printf '%s\n' "$out" >&2; die "wrk failed against $url"; }
  printf '%s\n' "$out" >>"$LOG_DIR/bench-wrk.log"
  awk '
    function ms(v,  n) {
      n = v + 0
      if (v ~ /us$/) return n / 1000
      if (v ~ /ms$/) return n
      if (v ~ /m$/)  return n * 60000
      if (v ~ /h$/)  return n * 3600000
      if (v ~ /s$/)  return n * 1000
      return n
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { errors = $4 + $6 + $8 + $10 }
    END {
      if (rps == "") exit 1
      printf "%s %.3f %.3f %d %d\n", rps, p50, p99, bad, errors
    }' <<<"$out" || die "could not parse wrk output against $url"
}

to_seconds() {
  local d=$1
  case $d in
    *ms) echo 1 ;;
    *s) echo "${d%s}" ;;
    *m) echo $((${d%m} * 60)) ;;
    *h) echo $((${d%h} * 3600)) ;;
    *) echo "$d" ;;
  esac
}

# pgbench_tps X CLIENTS DURATION [pgbench options...] → "tps" of bench/pgbench/X.sql (prepared, CLIENTS
# clients, PGBENCH_DEFINES), run in the current directory; its output goes to the pgbench log.
pgbench_tps() {
  local file=$BAZAAR_ROOT/bench/pgbench/$1.sql clients=$2 duration=$3 jobs out tps
  shift 3
  jobs=$((clients < 2 ? clients : 2))
  [[ -f $file ]] || die "no pgbench script $file"
  out=$(pgbench -n -M prepared -c "$clients" -j "$jobs" -T "$(to_seconds "$duration")" -f "$file" "$@" \
    "${PGBENCH_DEFINES[@]}" -h "$PG_HOST" -p "$PG_PORT" -U "$BAZAAR_DB_USER" "$BENCH_DB" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "pgbench failed on $file"; }
  printf '%s\n' "$out" >>"$LOG_DIR/bench-pgbench.log"
  tps=$(awk '/^tps = / { print $3; exit }' <<<"$out")
  [[ -n $tps ]] || die "could not parse pgbench output for $file"
  echo "$tps"
}

# run_pgbench X DURATION → "tps" of bench/pgbench/X.sql with as many clients as bazaar's pool.
run_pgbench() { pgbench_tps "$1" "$POOL_SIZE" "$2"; }

# run_pgbench_latency X CLIENTS DURATION → "tps p50 p99" (ms) of bench/pgbench/X.sql with CLIENTS clients
# in a closed loop, as wrk drives bazaar: what the database alone does at bazaar's concurrency, the floor
# under any server's latency there. Percentiles from pgbench's per-transaction log (-l), written in a
# directory of its own.
run_pgbench_latency() {
  local dir tps percentiles
  dir=$(mktemp -d)
  tps=$(cd "$dir" && pgbench_tps "$1" "$2" "$3" -l) || { rm -rf "$dir"; exit 1; }
  # Log lines: client, transaction, latency (µs), ...
  percentiles=$(cat "$dir"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "%.2f %.2f", v[int((NR - 1) * 0.50) + 1], v[int((NR - 1) * 0.99) + 1] }')
  rm -rf "$dir"
  [[ -n $percentiles ]] || die "no pgbench transaction log for $1"
  echo "$tps $percentiles"
}

# run_baseline KIND TARGET DURATION → throughput of the baseline (H: req/s, P(x): tps)
run_baseline() {
  local kind=$1 target=$2 duration=$3 out
  if [[ -n ${BASELINE_BEFORE_RUN:-} ]]; then "$BASELINE_BEFORE_RUN"; fi   # like WRK_BEFORE_RUN
  case $kind in
    H) out=$(run_wrk "$target" "$HELLO_PORT" "$duration"); echo "${out%% *}" ;;
    P\(*\)) kind=${kind#P(}; run_pgbench "${kind%)}" "$duration" ;;
    *) die "unknown baseline kind '$kind' (H or P(x))" ;;
  esac
}

# ------------------------------------------------------------------------------------------- results

median() {
  printf '%s\n' "$@" | sort -g \
    | awk '{ v[NR] = $1 } END { printf "%.6f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
percent() { awk "BEGIN { printf \"%.0f%%\", 100 * $1 }"; }
is_true() { [[ $(awk "BEGIN { print ($1) ? 1 : 0 }") == 1 ]]; }

# row NAME BAZAAR BASELINE RATIO TARGET P50 P99 VERDICT
row() {
  local IFS=$'\x1f'   # a separator that keeps empty fields
  ROWS+=("$*")
  [[ $8 == FAIL* ]] && FAILED=1
  return 0
}

print_table() {
  local fmt='%-24s %13s %16s %7s  %-26s %9s %9s  %s\n' line
  echo
  # shellcheck disable=SC2059
  printf "$fmt" scenario "bazaar" "baseline" ratio target p50 p99 verdict
  # shellcheck disable=SC2059
  printf "$fmt" "$(printf '%.0s-' {1..24})" "-------------" "----------------" "-------" \
    "--------------------------" "---------" "---------" "-------"
  for line in "${ROWS[@]}"; do
    IFS=$'\x1f' read -r -a f <<<"$line"
    # shellcheck disable=SC2059
    printf "$fmt" "${f[@]}"
  done
  echo
}

# scenario NAME URL_OR_LUA BASELINE_KIND TARGET_RATIO P99_MS
#   NAME            label in the table, e.g. "GET /healthz"
#   URL_OR_LUA      path on bazaar ("/healthz") or a wrk Lua script (bench/lua/x.lua)
#   BASELINE_KIND   H (the hello server; it gets the same requests) or P(x) (pgbench on bench/pgbench/x.sql)
#   TARGET_RATIO    bazaar req/s ÷ baseline throughput must reach this (within the baseline's spread)
#   P99_MS          bound on bazaar's median p99 latency in milliseconds
scenario() {
  local name=$1 target=$2 kind=$3 want=$4 p99_max=$5 i out
  local -a rps=() p50s=() p99s=() base=()
  local bad=0 errors=0 r p50 p99 nb ne
  info "$name: warm-up, then $PAIRS pairs (bazaar, $kind) × $DURATION at $CONNECTIONS connections"
  run_wrk "$target" "$BAZAAR_PORT" "$WARMUP" >/dev/null
  run_baseline "$kind" "$target" "$WARMUP" >/dev/null
  for ((i = 1; i <= PAIRS; i++)); do
    out=$(run_wrk "$target" "$BAZAAR_PORT" "$DURATION")
    read -r r p50 p99 nb ne <<<"$out"
    rps+=("$r"); p50s+=("$p50"); p99s+=("$p99"); bad=$((bad + nb)); errors=$((errors + ne))
    out=$(run_baseline "$kind" "$target" "$DURATION")
    base+=("$out")
    info "  pair $i: bazaar $r req/s (p99 $p99 ms), baseline $out"
  done

  judge_ratio "$name" "$want" "$p99_max" "$bad non-2xx, $errors socket errors" "$((bad + errors))" "$kind" \
    rps base p50s p99s
}

# judge_ratio NAME WANT P99_MAX FAILURES_TEXT FAILURES BASELINE_LABEL RPS_ARRAY BASE_ARRAY P50_ARRAY P99_ARRAY:
# medians, the median of the pairs' ratios, spread and the verdict, then one row: FAILURES > 0 fails it with
# FAILURES_TEXT; then the p99 bound; then the ratio, which fails only when short of WANT by more than the
# baseline's own spread.
judge_ratio() {
  local name=$1 want=$2 p99_max=$3 failures_text=$4 failures=$5 label=$6
  local -n rps_ref=$7 base_ref=$8 p50_ref=$9 p99_ref=${10}
  local m_rps m_base m_p50 m_p99 ratio spread floor verdict lo hi i
  local -a pair_ratios=()
  m_rps=$(median "${rps_ref[@]}"); m_base=$(median "${base_ref[@]}")
  m_p50=$(median "${p50_ref[@]}"); m_p99=$(median "${p99_ref[@]}")
  lo=$(printf '%s\n' "${base_ref[@]}" | sort -g | head -n 1); hi=$(printf '%s\n' "${base_ref[@]}" | sort -g | tail -n 1)
  for i in "${!rps_ref[@]}"; do pair_ratios+=("$(calc "${rps_ref[$i]} / ${base_ref[$i]}")"); done
  ratio=$(median "${pair_ratios[@]}")
  echo "==>   $name: pair ratios $(printf '%.2f ' "${pair_ratios[@]}")" >&2
  spread=$(calc "($hi - $lo) / $m_base")
  floor=$(calc "$want * (1 - $spread)")
  if ((failures > 0)); then
    verdict="FAIL ($failures_text)"
  elif is_true "$m_p99 > $p99_max"; then
    verdict="FAIL (p99 > $p99_max ms)"
  elif is_true "$ratio >= $want"; then
    verdict="ok (spread $(percent "$spread"))"
  elif is_true "$ratio >= $floor"; then
    verdict="ok within noise (spread $(percent "$spread"))"
  else
    verdict="FAIL (spread $(percent "$spread"))"
  fi
  row "$name" "$(printf '%.0f' "$m_rps")" "$(printf '%.0f' "$m_base") $label" "$(printf '%.2f' "$ratio")" \
    ">= $want x $label, p99 <= $p99_max ms" "$(printf '%.2f ms' "$m_p50")" "$(printf '%.2f ms' "$m_p99")" "$verdict"
}

# rss_mib PID → resident set size in MiB
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# Builds bazaar and the baseline: the shared release preset, or BENCH_BUILD_DIR configured as a release build.
build_binaries() {
  if [[ -z ${BENCH_BUILD_DIR:-} ]]; then
    build_preset release bazaar bazaar_bench_hello
  elif [[ ${BAZAAR_NO_BUILD:-0} != 1 ]]; then
    info "building bazaar and the baseline in $BUILD_DIR"
    cmake --preset release -B "$BUILD_DIR" >/dev/null
    cmake --build "$BUILD_DIR" --target bazaar bazaar_bench_hello
  fi
}

# ------------------------------------------------------------------------------------------------ main

main() {
  command -v wrk >/dev/null || die "wrk not found (run scripts/setup.sh)"
  mkdir -p "$LOG_DIR"
  rm -rf "$MAIL_DIR" && mkdir -p "$MAIL_DIR"
  : >"$LOG_DIR/bench-wrk.log"
  : >"$LOG_DIR/bench-pgbench.log"

  "$BAZAAR_ROOT/scripts/setup.sh"
  build_binaries
  [[ -x $BIN && -x $HELLO_BIN ]] || die "missing $BIN or $HELLO_BIN"

  if [[ ${BENCH_EXTERNAL_SERVICES:-0} == 1 ]]; then
    info "using the PostgreSQL on $PG_HOST:$PG_PORT and the Redis on 127.0.0.1:$REDIS_PORT that already run"
  else
    if ! "$BAZAAR_ROOT/scripts/services.sh" status >/dev/null 2>&1; then STARTED_SERVICES=1; fi
    "$BAZAAR_ROOT/scripts/services.sh" start >/dev/null
  fi

  # bazaar's database pool size = pgbench's client count for P(x) baselines.
  POOL_SIZE=${BAZAAR_DATABASE__POOL_SIZE:-$(python3 -c \
    'import json, sys; print(json.load(open(sys.argv[1]))["database"]["pool_size"])' config/default.json)}

  info "fresh database $BENCH_DB, migrated"
  recreate_db "$BENCH_DB"
  export BAZAAR_DATABASE__URL BAZAAR_REDIS__URL
  BAZAAR_DATABASE__URL=$(db_url "$BENCH_DB")
  BAZAAR_REDIS__URL=${BAZAAR_REDIS__URL:-$(redis_url)}
  "$BIN" migrate >"$LOG_DIR/bench-migrate.log" 2>&1 || { cat "$LOG_DIR/bench-migrate.log" >&2; die "migrate failed"; }
  info "seeding the demo catalog ($CATALOG_PRODUCTS products)"
  "$BIN" seed-demo --products "$CATALOG_PRODUCTS" >"$LOG_DIR/bench-seed.log" 2>&1 \
    || { cat "$LOG_DIR/bench-seed.log" >&2; die "seed-demo failed"; }
  info "$(tail -n 1 "$LOG_DIR/bench-seed.log")"
  # The seeded tables only. VACUUM on a still-empty table records it as known to be empty (0 pages, 0 rows),
  # and a prepared statement planned against that keeps a sequential-scan plan while the table grows, until
  # autovacuum's next ANALYZE (up to a minute): the first scenarios to fill a table would measure that. A
  # freshly migrated production database has never been vacuumed, and the planner assumes a size instead.
  local seeded
  seeded=$(local_psql -d "$BENCH_DB" -At \
    -c "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables WHERE schemaname = 'catalog'")
  local_psql -d "$BENCH_DB" -c "VACUUM ANALYZE $seeded" >/dev/null
  local_psql -d "$BENCH_DB" -At \
    -c "SELECT id FROM catalog.products WHERE status = 'published' ORDER BY id DESC" >"$BENCH_PRODUCT_IDS"

  info "starting bazaar on 127.0.0.1:$BAZAAR_PORT and the baseline on 127.0.0.1:$HELLO_PORT ($THREADS threads each)"
  start_bazaar
  local ready_ms=$READY_MS
  sleep 1   # idle: nothing has touched it but the readiness probe
  local rss_kb
  rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$BAZAAR_PID/status")
  start_hello

  local verdict
  echo "bazaar bench: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, wrk -t$WRK_THREADS" \
    "-c$CONNECTIONS -d$DURATION, $PAIRS pairs, pool $POOL_SIZE, $(date -u +%FT%TZ)"

  # ---- scenarios: the platform's here, each module's in bench/scenarios/<module>.sh
  scenario "GET /healthz" /healthz H 0.70 5

  local section
  for section in "${SECTIONS[@]}"; do
    declare -F "bench_$section" >/dev/null || die "no bench_$section in bench/scenarios/ (BENCH_SECTIONS)"
    "bench_$section"
  done

  # ---- process figures (absolute targets)
  local idle_mib
  idle_mib=$(calc "$rss_kb / 1024")
  verdict=ok; is_true "$idle_mib > 30" && verdict=FAIL
  row "idle RSS" "$(printf '%.1f MiB' "$idle_mib")" "" "" "<= 30 MiB" "" "" "$verdict"
  verdict=ok; ((ready_ms > 1000)) && verdict=FAIL
  row "start to ready" "$(printf '%d ms' "$ready_ms")" "" "" "<= 1000 ms, schema current" "" "" "$verdict"

  print_table
  if ((FAILED)); then
    echo "bench: a target was missed (logs in .local/logs/bench-*.log)"
    exit 1
  fi
  echo "bench: all targets met"
}

main "$@"
