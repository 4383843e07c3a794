# bazaar container: built on Debian 12 with the -dev packages, run on bookworm-slim with only the runtime
# libraries, as a non-root user. Configuration comes from the environment (BAZAAR_SECTION__KEY, see
# README.md "Configuration"); secrets from the environment or mounted files, never from the image.
#
#   docker build -t bazaar .
#   docker run -d --name bazaar -p 8080:8080 -p 8443:8443 --stop-timeout 15 \
#     -e BAZAAR_DATABASE__URL='postgresql://bazaar:secret@db:5432/bazaar' \
#     -e BAZAAR_REDIS__URL='redis://redis:6379/0' \
#     -v /srv/bazaar/keys:/run/secrets/bazaar-keys:ro -v /srv/bazaar/tls:/run/secrets/bazaar-tls:ro \
#     -v bazaar-data:/var/lib/bazaar bazaar
#   docker run --rm -e BAZAAR_DATABASE__URL=... bazaar migrate          # or leave migrate_on_start on

# ---------------------------------------------------------------------------------------------- build
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build lld pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libsoci-dev libpq-dev libhiredis-dev libssl-dev libargon2-dev libcurl4-openssl-dev libfmt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Migrations and config/default.json are embedded in the binary; the tests are not built here.
RUN cmake --preset release -DBUILD_TESTING=OFF \
 && cmake --build --preset release --target bazaar \
 && strip --strip-debug -o /usr/local/bin/bazaar build/release/bazaar \
 && /usr/local/bin/bazaar version

# -------------------------------------------------------------------------------------------- runtime
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libboost-url1.81.0 libsoci-core4.0 libsoci-postgresql4.0 libpq5 \
      libhiredis0.14 libssl3 libargon2-1 libcurl4 libfmt9 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/bazaar --create-home \
      --shell /usr/sbin/nologin bazaar
COPY --from=build /usr/local/bin/bazaar /usr/local/bin/bazaar

# Required at run time (no defaults that would work in a container):
#   BAZAAR_DATABASE__URL   libpq URI of PostgreSQL 15+, e.g. postgresql://bazaar:secret@db:5432/bazaar
# Optional:
#   BAZAAR_REDIS__URL      redis://host:6379/0 (shared rate limits and cache invalidation for N instances)
#   BAZAAR_PAYMENTS__WEBHOOK_SECRET, BAZAAR_NOTIFICATIONS__EMAIL__TRANSPORT=smtp, ..._SMTP_URL, ...
#   BAZAAR_HTTPS__LISTEN=  (empty) to serve plain HTTP only, behind a TLS-terminating load balancer
# Mounted secrets: the Ed25519 signing keys (<kid>.pem) and the TLS certificate and key.
# GLIBC_TUNABLES: a larger per-thread malloc cache for request bursts (see scripts/lib.sh).
ENV GLIBC_TUNABLES=glibc.malloc.tcache_count=128 \
    BAZAAR_HTTP__LISTEN=0.0.0.0:8080 \
    BAZAAR_HTTPS__LISTEN=0.0.0.0:8443 \
    BAZAAR_HTTPS__CERT_FILE=/run/secrets/bazaar-tls/cert.pem \
    BAZAAR_HTTPS__KEY_FILE=/run/secrets/bazaar-tls/key.pem \
    BAZAAR_AUTH__KEYS_DIR=/run/secrets/bazaar-keys \
    BAZAAR_MEDIA__DIR=/var/lib/bazaar/media \
    BAZAAR_NOTIFICATIONS__EMAIL__DIR=/var/lib/bazaar/mail

USER bazaar
WORKDIR /var/lib/bazaar
EXPOSE 8080 8443
# Follows the port of BAZAAR_HTTP__LISTEN (the plain listener must be on for the health check).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD port="${BAZAAR_HTTP__LISTEN##*:}"; curl -fsS -o /dev/null "http://127.0.0.1:${port:-8080}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/bazaar"]
CMD ["serve"]
