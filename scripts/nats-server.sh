#!/usr/bin/env bash
# Provides a current nats-server (>= 2.11) in .tools/nats/bin without touching
# the machine's apt configuration: Debian's unstable suite ships one (a static
# Go binary that depends only on libc, so it runs on bookworm). apt-get reads
# a private sources list, state and cache under .tools/nats/apt; `dpkg -x`
# unpacks the .deb; nothing is installed system-wide.
#
# Usage: nats-server.sh ensure   provision when missing or too old; print the version
#        nats-server.sh path     print the binary's path (after ensure)
#        nats-server.sh version  print "nats-server vX.Y.Z (path)"
#
# Overrides: HS_NATS_SERVER=/path/to/nats-server uses that binary instead
# (it must still be >= 2.11); HS_NATS_DEB_SUITE (default: unstable, then
# testing) and HS_NATS_DEB_MIRROR (default: http://deb.debian.org/debian).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tools/nats"
BIN="$DIR/bin/nats-server"
MIN_MAJOR=2
MIN_MINOR=11
MIRROR="${HS_NATS_DEB_MIRROR:-http://deb.debian.org/debian}"
SUITES="${HS_NATS_DEB_SUITE:-unstable testing}"

log() { printf '[nats] %s\n' "$*" >&2; }

# "2.15.1" from `nats-server --version` ("nats-server: v2.15.1"); empty when it does not run.
version_of() { "$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -1; }

new_enough() { # version
  local major minor
  IFS=. read -r major minor _ <<<"$1"
  [ -n "$major" ] && [ -n "$minor" ] || return 1
  [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

binary() {
  if [ -n "${HS_NATS_SERVER:-}" ]; then echo "$HS_NATS_SERVER"; else echo "$BIN"; fi
}

provision() {
  command -v apt-get >/dev/null 2>&1 || { log "apt-get is missing: cannot fetch nats-server from Debian"; return 1; }
  local apt="$DIR/apt" tmp
  rm -rf "$apt"
  mkdir -p "$apt/etc" "$apt/lists/partial" "$apt/cache/archives/partial"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  : >"$apt/etc/sources.list"
  for suite in $SUITES; do
    echo "deb [signed-by=$keyring] $MIRROR $suite main" >>"$apt/etc/sources.list"
  done
  local opts=(
    -o "Dir::Etc::SourceList=$apt/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Dir::State::status=/dev/null
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq
  )
  log "fetching the package index of Debian $SUITES from $MIRROR (private apt state in .tools/nats/apt)"
  if ! apt-get "${opts[@]}" update >"$apt/update.log" 2>&1; then
    log "apt-get update failed:"; cat "$apt/update.log" >&2; return 1
  fi
  local candidate
  candidate="$(apt-cache "${opts[@]}" policy nats-server | sed -n 's/^ *Candidate: *//p')"
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    log "Debian $SUITES has no nats-server package"; return 1
  fi
  if ! new_enough "${candidate#*:}"; then
    log "Debian $SUITES offers nats-server $candidate, older than $MIN_MAJOR.$MIN_MINOR"; return 1
  fi
  tmp="$(mktemp -d)"
  log "downloading nats-server $candidate"
  if ! (cd "$tmp" && apt-get "${opts[@]}" download "nats-server=$candidate" >"$apt/download.log" 2>&1); then
    log "apt-get download failed:"; cat "$apt/download.log" >&2; rm -rf "$tmp"; return 1
  fi
  dpkg -x "$tmp"/nats-server_*.deb "$tmp/x"
  mkdir -p "$DIR/bin"
  install -m 0755 "$tmp/x/usr/sbin/nats-server" "$BIN"
  rm -rf "$tmp" "$apt/cache"
}

ensure() {
  local bin version
  bin="$(binary)"
  version="$( [ -x "$bin" ] && version_of "$bin" || true)"
  if [ -n "${HS_NATS_SERVER:-}" ]; then
    new_enough "$version" || { log "HS_NATS_SERVER=$bin is version '${version:-unknown}'; hookstream needs nats-server >= $MIN_MAJOR.$MIN_MINOR"; exit 1; }
  elif ! new_enough "$version"; then
    [ -n "$version" ] && log "nats-server $version in .tools is older than $MIN_MAJOR.$MIN_MINOR; replacing it"
    if ! provision; then
      log "no nats-server >= $MIN_MAJOR.$MIN_MINOR could be had. Put one at $BIN, or point HS_NATS_SERVER at one"
      log "(https://github.com/nats-io/nats-server/releases), then run make setup again."
      exit 1
    fi
    version="$(version_of "$bin")"
    new_enough "$version" || { log "the unpacked nats-server reports version '${version:-unknown}'"; exit 1; }
  fi
  log "nats-server v$version ($bin)"
}

case "${1:-ensure}" in
  ensure) ensure ;;
  path) binary ;;
  version) bin="$(binary)"; echo "nats-server v$(version_of "$bin") ($bin)" ;;
  *) echo "usage: $0 ensure|path|version" >&2; exit 2 ;;
esac
