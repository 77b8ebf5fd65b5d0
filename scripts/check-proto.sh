#!/usr/bin/env bash
# Fails (exit 1) when packages/proto/src/gen is not what scripts/gen-proto.sh
# makes from proto/ now: someone edited a .proto without regenerating, or
# edited generated code by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
bash "$ROOT/scripts/gen-proto.sh" "$TMP/gen"
if ! diff -ru "$ROOT/packages/proto/src/gen" "$TMP/gen"; then
  echo "check-proto: packages/proto/src/gen is stale: run scripts/gen-proto.sh" >&2
  exit 1
fi
echo "check-proto: generated code is up to date"
