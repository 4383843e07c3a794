#!/usr/bin/env bash
# Local services for development, tests and benchmarks:
#   PostgreSQL 15 — a throwaway cluster under .local/pg, 127.0.0.1:54329, role and database "bazaar"
#   Redis 7       — redis-server on 127.0.0.1:63799, no persistence, pid file and log under .local/redis
# Usage: scripts/services.sh start|stop|status|reset
#   start   idempotent: starts what is not running, waits until both answer, creates the role, the database
#           and the development secrets (.local/keys, .local/tls) if missing
#   stop    stops both (no-op when stopped)
#   status  prints the state; exit 0 when both run, 3 otherwise
#   reset   stops both and deletes their data (the cluster is re-created by the next start)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN=${BAZAAR_PG_BIN:-/usr/lib/postgresql/15/bin}
REDIS_DIR=$BAZAAR_LOCAL/redis
REDIS_PIDFILE=$REDIS_DIR/redis.pid
PG_LINK=$BAZAAR_LOCAL/pg

# ---------------------------------------------------------------------------------------------- PostgreSQL

# Runs a PostgreSQL program as the cluster's owner: user postgres when we are root (PostgreSQL refuses to
# run as root), else ourselves. From / so that a working directory postgres may not enter doesn't matter.
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Sets PG_BASE (the cluster's real directory), PGDATA_DIR and PG_LOG. With "create", makes the directory
# on first use. The postgres user must be able to reach the data directory through every parent; a fresh
# clone may sit in a directory it cannot traverse (e.g. under a 0700 mktemp dir). Then the cluster lives
# in /var/tmp/bazaar-pg-<hash of the project path> and .local/pg is a symlink to it.
resolve_pg() {
  local create=${1:-}
  if [[ -L $PG_LINK ]]; then
    PG_BASE=$(readlink -f "$PG_LINK")
  elif [[ -d $PG_LINK || $create != create ]]; then
    PG_BASE=$PG_LINK
  else
    mkdir -p "$BAZAAR_LOCAL"
    if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$BAZAAR_LOCAL" 2>/dev/null; then
      PG_BASE=/var/tmp/bazaar-pg-$(printf '%s' "$BAZAAR_ROOT" | sha256sum | cut -c1-12)
      ln -sfn "$PG_BASE" "$PG_LINK"
      info "postgres cannot traverse $BAZAAR_ROOT: cluster kept in $PG_BASE (.local/pg links to it)"
    else
      PG_BASE=$PG_LINK
    fi
  fi
  PGDATA_DIR=$PG_BASE/data
  PG_LOG=$PG_BASE/postgres.log
  if [[ $create == create && ! -d $PG_BASE ]]; then
    mkdir -p "$PG_BASE"
    chmod 700 "$PG_BASE"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_BASE"; fi
  fi
}

# True when the postmaster named in postmaster.pid is alive. A pid file left by a killed server (its pid
# gone, or an unreaped zombie that PostgreSQL's own check would take for a live server) is removed.
pg_running() {
  local pidfile=$PGDATA_DIR/postmaster.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null) || return 1
  if pid_alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres* ]]; then
    return 0
  fi
  warn "postgres: removing the stale pid file of a server that is gone (pid $pid)"
  rm -f "$pidfile"
  return 1
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -t 2; }

# Waits (bounded) until the server accepts connections; fails early if the postmaster exits.
pg_wait_ready() {
  local tries=300
  while ((tries-- > 0)); do
    pg_ready && return 0
    if ((tries < 290)) && ! pg_running; then
      pg_log_tail
      die "postgres exited during start-up"
    fi
    sleep 0.1
  done
  pg_log_tail
  die "postgres did not become ready within 30 s"
}

pg_log_tail() {
  if [[ -f $PG_LOG ]]; then
    printf -- '--- last lines of %s ---\n' "$PG_LOG" >&2
    tail -n 20 "$PG_LOG" >&2
  fi
}

# PostgreSQL's usual sizing: a quarter of the machine's memory for shared buffers, at most 4 GiB, at least
# the 128 MiB default. The default alone is far too small for a shop's working set: checkout walks fresh
# carts and writes orders, reservations, outbox rows and deliveries, and once those outgrow 128 MiB every
# statement also evicts buffers (measured: 64 concurrent checkouts 863 → 1333/s with 4 GiB, 2 cores).
pg_shared_buffers_mb() {
  local kib
  kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)
  local mb=$((${kib:-0} / 4 / 1024))
  ((mb > 4096)) && mb=4096
  ((mb < 128)) && mb=128
  echo "$mb"
}

pg_start() {
  [[ -x $PG_BIN/pg_ctl ]] || die "PostgreSQL 15 not found in $PG_BIN (run scripts/setup.sh)"
  resolve_pg create
  if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
    info "postgres: creating the cluster in $PGDATA_DIR"
    # Trust authentication: the cluster is throwaway and listens on loopback only.
    as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      --text-search-config=english >"$BAZAAR_LOCAL/initdb.log" 2>&1 \
      || { cat "$BAZAAR_LOCAL/initdb.log" >&2; die "initdb failed"; }
    rm -f "$BAZAAR_LOCAL/initdb.log"
    echo "include_if_exists = 'bazaar.conf'" | as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
  fi
  # Rewritten on every start, so edits here apply to existing clusters.
  as_pg tee "$PGDATA_DIR/bazaar.conf" >/dev/null <<EOF
# Written by scripts/services.sh on every start. A throwaway development/test cluster.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = ''      # TCP only
max_connections = 200
# Durability off for speed: the data is disposable (dev, tests, benchmarks). Never do this in production.
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = $(pg_shared_buffers_mb)MB
EOF
  if pg_running; then
    info "postgres: already running on $PG_HOST:$PG_PORT"
  else
    if port_open "$PG_PORT"; then
      die "port $PG_PORT is in use by another process (not this project's cluster in $PGDATA_DIR)"
    fi
    info "postgres: starting on $PG_HOST:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -W -s start \
      || { pg_log_tail; die "pg_ctl start failed"; }
  fi
  pg_wait_ready
  PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres \
    >/dev/null <<EOF
SELECT 'CREATE ROLE $BAZAAR_DB_USER LOGIN SUPERUSER'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$BAZAAR_DB_USER')\gexec
SELECT 'CREATE DATABASE bazaar OWNER $BAZAAR_DB_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bazaar')\gexec
EOF
}

pg_stop() {
  resolve_pg
  if pg_running; then
    info "postgres: stopping"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 -s stop || die "pg_ctl stop failed"
  else
    info "postgres: not running"
  fi
}

pg_status() {
  resolve_pg
  if pg_running && pg_ready; then
    echo "postgres: running   $(db_url bazaar)   (data: $PGDATA_DIR)"
  elif [[ -f $PGDATA_DIR/PG_VERSION ]]; then
    echo "postgres: stopped   (data: $PGDATA_DIR)"
    return 3
  else
    echo "postgres: not created yet"
    return 3
  fi
}

pg_reset() {
  pg_stop
  resolve_pg
  if [[ -L $PG_LINK ]]; then
    rm -rf "$PG_BASE"
    rm -f "$PG_LINK"
  else
    rm -rf "$PG_LINK"
  fi
  info "postgres: cluster deleted"
}

# ------------------------------------------------------------------------------------------------ Redis

# Prints the pid of our redis-server if it is alive; a stale pid file (process gone, or the pid reused by
# something else) counts as not running.
redis_pid() {
  local pid
  [[ -f $REDIS_PIDFILE ]] || return 1
  pid=$(<"$REDIS_PIDFILE")
  pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
  echo "$pid"
}

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_start() {
  command -v redis-server >/dev/null || die "redis-server not found (run scripts/setup.sh)"
  local pid
  if pid=$(redis_pid); then
    info "redis: already running (pid $pid) on 127.0.0.1:$REDIS_PORT"
  else
    rm -f "$REDIS_PIDFILE"
    if redis_ping; then
      # Redis holds nothing of ours that matters, so any server on the port will do; it isn't ours to stop.
      warn "a redis-server not started by this script already answers on 127.0.0.1:$REDIS_PORT; using it"
      return 0
    fi
    if port_open "$REDIS_PORT"; then
      die "port $REDIS_PORT is in use by another process (not a redis answering PING)"
    fi
    info "redis: starting on 127.0.0.1:$REDIS_PORT"
    mkdir -p "$REDIS_DIR"
    # No persistence: no RDB snapshots, no append-only file.
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
      --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_DIR/redis.log" --dir "$REDIS_DIR" \
      --save '' --appendonly no >/dev/null \
      || die "redis-server failed to start (see $REDIS_DIR/redis.log)"
  fi
  wait_until 10 redis_ping || { tail -n 20 "$REDIS_DIR/redis.log" >&2 || true; die "redis did not answer PING within 10 s"; }
}

redis_stop() {
  local pid
  if pid=$(redis_pid); then
    info "redis: stopping (pid $pid)"
    kill -TERM "$pid"
    if ! wait_until 10 eval "! pid_alive $pid"; then
      warn "redis did not stop within 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  elif redis_ping; then
    info "redis: the server on 127.0.0.1:$REDIS_PORT was not started by this script; leaving it alone"
  else
    info "redis: not running"
  fi
  rm -f "$REDIS_PIDFILE"
}

redis_status() {
  local pid
  if pid=$(redis_pid) && redis_ping; then
    echo "redis:    running   $(redis_url)   (pid $pid)"
  elif redis_ping; then
    echo "redis:    running   $(redis_url)   (not started by this script)"
  else
    echo "redis:    stopped"
    return 3
  fi
}

# ------------------------------------------------------------------------------------------------- main

cmd=${1:-}
case $cmd in
  start)
    mkdir -p "$BAZAAR_LOCAL"
    pg_start
    redis_start
    ensure_dev_secrets
    pg_status
    redis_status
    ;;
  stop)
    redis_stop
    pg_stop
    ;;
  status)
    rc=0
    pg_status || rc=$?
    redis_status || rc=$?
    exit "$rc"
    ;;
  reset)
    redis_stop
    rm -rf "$REDIS_DIR"
    pg_reset
    ;;
  *)
    echo "usage: $0 start|stop|status|reset" >&2
    exit 2
    ;;
esac
