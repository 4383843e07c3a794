# shellcheck shell=bash
# shellcheck disable=SC2034  # sets globals that scripts/bench.sh reads
# Notifications scenarios for scripts/bench.sh (sourced; uses its helpers).

# ---- email latency
# End to end from a committed orders.order_placed (an order awaiting an external payment, so "order
# received" is news) to the email accepted by a local SMTP server, at BENCH_NOTIFY_RATE events/s (50) for
# BENCH_NOTIFY_SECONDS (10). bench/notify_latency.py runs the SMTP server (aiosmtpd), publishes the events
# into the outbox as the orders module does (insert + NOTIFY, one statement each) and times every message.
# bazaar is restarted with the smtp transport for it, and with its defaults afterwards.
bench_notification_latency() {
  local rate=${BENCH_NOTIFY_RATE:-50} seconds=${BENCH_NOTIFY_SECONDS:-10} port=${BENCH_NOTIFY_SMTP_PORT:-18025}
  local python=/usr/bin/python3 out sent received p50 p99 worst verdict name
  name="email latency, ${rate}/s"
  [[ -x $python ]] || python=python3
  if ! "$python" -c 'import aiosmtpd' 2>/dev/null; then
    row "$name" "" "" "" "p99 <= 1000 ms, every email" "" "" "FAIL (python3-aiosmtpd is missing)"
    return 0
  fi
  port_open "$port" && die "port $port is already in use"
  info "$name: orders.order_placed for ${seconds} s, emails through SMTP on 127.0.0.1:$port"
  restart_bazaar BAZAAR_NOTIFICATIONS__EMAIL__TRANSPORT=smtp "BAZAAR_NOTIFICATIONS__EMAIL__SMTP_URL=smtp://127.0.0.1:$port"
  out=$("$python" bench/notify_latency.py --smtp-port "$port" --rate "$rate" --seconds "$seconds" \
    -- -h "$PG_HOST" -p "$PG_PORT" -U "$BAZAAR_DB_USER" -d "$BENCH_DB") || die "bench/notify_latency.py failed"
  read -r sent received p50 p99 worst <<<"$out"
  info "  $received of $sent emails, p50 $p50 ms, p99 $p99 ms, max $worst ms"
  restart_bazaar
  verdict=ok
  if ((received < sent)); then
    verdict="FAIL ($((sent - received)) of $sent emails missing)"
  elif is_true "$p99 > 1000"; then
    verdict="FAIL (p99 > 1000 ms)"
  fi
  row "$name" "$received/$sent emails" "" "" "p99 <= 1000 ms, every email" "$(printf '%.1f ms' "$p50")" \
    "$(printf '%.1f ms' "$p99")" "$verdict"
}

bench_notifications() {
  bench_notification_latency
}
