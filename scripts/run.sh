#!/usr/bin/env bash
# Builds the release binary and serves a development store with demo data on local services:
# setup → build release → services start (+ dev keys and TLS certificate) → migrate → seed-demo → serve.
# Extra arguments go to each bazaar command (e.g. scripts/run.sh --config my.json). BAZAAR_* variables set
# in the environment win over the ones set here.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BAZAAR_ROOT"   # default.json's relative paths (.local/keys, .local/tls, ...) are relative to here

"$BAZAAR_ROOT/scripts/setup.sh"
build_preset release bazaar
"$BAZAAR_ROOT/scripts/services.sh" start
ensure_dev_secrets

export BAZAAR_DATABASE__URL=${BAZAAR_DATABASE__URL:-$(db_url bazaar)}
export BAZAAR_REDIS__URL=${BAZAAR_REDIS__URL:-$(redis_url)}
bin=$BAZAAR_ROOT/build/release/bazaar
[[ -x $bin ]] || die "$bin was not built"

info "migrating"
"$bin" migrate "$@"
info "seeding demo data (a no-op when already seeded)"
"$bin" seed-demo "$@"

http=${BAZAAR_HTTP__LISTEN-127.0.0.1:8080} https=${BAZAAR_HTTPS__LISTEN-127.0.0.1:8443}
cat >&2 <<MSG

  bazaar is starting (Ctrl-C stops it; scripts/services.sh stop stops PostgreSQL and Redis)
    health      http://$http/healthz   (and /readyz, /metrics)
    HTTPS       https://$https   (self-signed: curl -k, or --cacert .local/tls/cert.pem)
    API docs    http://$http/openapi.json
    database    $BAZAAR_DATABASE__URL
    redis       $BAZAAR_REDIS__URL
  (listen addresses as in config/default.json unless a --config file changes them)

MSG
exec "$bin" serve "$@"
