#!/usr/bin/env bash
# Installs the system packages bazaar needs to build, test, run and benchmark on Debian 12 (bookworm).
# Idempotent: installs only what is missing and runs `apt-get update` only then. Needs root or sudo;
# works with no terminal and no stdin (CI).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
  # toolchain
  build-essential cmake ninja-build ccache lld pkg-config
  # libraries (libpq-dev: SOCI's PostgreSQL backend header includes <libpq-fe.h>; libsoci-dev doesn't pull it)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libsoci-dev libpq-dev libhiredis-dev
  libssl-dev libargon2-dev libcurl4-openssl-dev libfmt-dev doctest-dev
  # local services, tools used by the scripts and tests
  postgresql postgresql-contrib redis-server openssl curl wrk python3-aiosmtpd procps
)

missing=()
for p in "${packages[@]}"; do
  if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  info "setup: all ${#packages[@]} system packages are installed"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: bazaar's scripts expect Debian 12 (bookworm)"
if [[ $EUID -ne 0 ]] && ! command -v sudo >/dev/null; then
  die "missing packages (${missing[*]}) and neither root nor sudo available to install them"
fi

info "setup: installing ${missing[*]}"
# Debian's postgresql package may create and start a system cluster on port 5432; that is left alone
# (scripts/services.sh runs its own cluster on 127.0.0.1:$PG_PORT).
apt_opts=(-o DPkg::Lock::Timeout=300 -q)
as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update </dev/null
as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends \
  "${missing[@]}" </dev/null
info "setup: done"
