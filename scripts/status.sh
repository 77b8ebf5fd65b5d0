#!/usr/bin/env bash
# Shows each part of the local stack: running or not, and its readiness.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local-env.sh"
for name in nats clickhouse "${SERVICES[@]}"; do
  if is_running "$name"; then
    state="running (pid $(cat "$PID_DIR/$name.pid"))"
    if [ -n "${HEALTH_PORT[$name]:-}" ]; then
      state="$state, readyz: $(curl -s "http://127.0.0.1:${HEALTH_PORT[$name]}/readyz" || echo unreachable)"
    fi
  else
    state="stopped"
  fi
  printf '%-12s %s\n' "$name" "$state"
done
