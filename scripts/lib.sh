# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; it defines functions and constants only.

shopt -s inherit_errexit   # `set -e` also inside $(...)

BAZAAR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BAZAAR_LOCAL="$BAZAAR_ROOT/.local"

# Local services: loopback only, ports chosen not to clash with a system PostgreSQL/Redis.
# (Script settings are BAZAAR_ names without a double underscore: the binary reads only BAZAAR_A__B.)
PG_HOST=127.0.0.1
PG_PORT=${BAZAAR_PG_PORT:-54329}
REDIS_PORT=${BAZAAR_REDIS_PORT:-63799}
BAZAAR_DB_USER=bazaar

info() { printf '==> %s\n' "$*" >&2; }

# glibc's per-thread cache keeps 7 freed blocks per size by default; a request burst frees more than
# that and the rest go the slow, locked way. 128 cuts bazaar's user-space instructions per request by
# ~9% (perf stat, GET /me at 64 connections). Worst-case retention: ~4 MiB per thread. The Dockerfile
# sets the same.
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.tcache_count=128}
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

db_url() { printf 'postgresql://%s@%s:%s/%s' "$BAZAAR_DB_USER" "$PG_HOST" "$PG_PORT" "$1"; }
redis_url() { printf 'redis://127.0.0.1:%s/0' "$REDIS_PORT"; }

# psql against the local cluster as the bazaar role (trust auth on loopback), quiet, stop on error.
local_psql() {
  PGCONNECT_TIMEOUT=5 PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$BAZAAR_DB_USER" "$@"
}

# Drops (closing its connections) and re-creates a database owned by bazaar.
recreate_db() {
  local name=$1
  local_psql -d postgres -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" \
    -c "CREATE DATABASE \"$name\" OWNER $BAZAAR_DB_USER" >/dev/null
}

# Configures and builds a CMake preset (dev|release|ci); extra arguments are build targets.
# BAZAAR_NO_BUILD=1 skips this and uses whatever is already built; BAZAAR_BUILD_JOBS=N sets ninja -j.
build_preset() {
  local preset=$1; shift
  if [[ ${BAZAAR_NO_BUILD:-0} == 1 ]]; then
    info "BAZAAR_NO_BUILD=1: using the existing build/$preset"
    return 0
  fi
  local -a build_args=(--build --preset "$preset")
  [[ -n ${BAZAAR_BUILD_JOBS:-} ]] && build_args+=(-j "$BAZAAR_BUILD_JOBS")
  [[ $# -gt 0 ]] && build_args+=(--target "$@")
  info "building preset $preset${*:+ (targets: $*)}"
  (cd "$BAZAAR_ROOT" && cmake --preset "$preset" >/dev/null && cmake "${build_args[@]}")
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails after SECONDS.
wait_until() {
  local limit=$1; shift
  local tries=$((limit * 10))
  while ((tries-- > 0)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# True when process PID exists and is not a zombie (a killed daemon may linger unreaped as one).
pid_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }          # drop "pid (comm) "
  [[ ${stat%% *} != [ZX] ]]
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Development secrets, created once if missing: an Ed25519 signing key for access tokens
# (.local/keys/<kid>.pem; the file name is the key id) and a self-signed TLS certificate for localhost.
ensure_dev_secrets() {
  local keys="$BAZAAR_LOCAL/keys" tls="$BAZAAR_LOCAL/tls"
  mkdir -p "$keys" "$tls"
  chmod 700 "$keys" "$tls"
  if ! compgen -G "$keys/*.pem" >/dev/null; then
    local kid
    kid="dev-$(date -u +%Y-%m)"
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$keys/$kid.pem" 2>/dev/null) \
      || die "could not create the signing key $keys/$kid.pem"
    info "created development signing key .local/keys/$kid.pem"
  fi
  if [[ ! -s $tls/cert.pem || ! -s $tls/key.pem ]]; then
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
      -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null) \
      || die "could not create the TLS certificate in $tls"
    chmod 644 "$tls/cert.pem"
    info "created self-signed TLS certificate .local/tls/cert.pem (CN=localhost)"
  fi
}
