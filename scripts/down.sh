#!/usr/bin/env bash
# Stops what `make up` started, services first, by their recorded pids.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local-env.sh"
stop() {
  local name="$1" pidfile="$PID_DIR/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
    echo "[down] stopped $name"
  fi
  rm -f "$pidfile"
}
stop echo
for ((i=${#SERVICES[@]}-1; i>=0; i--)); do stop "${SERVICES[$i]}"; done
stop clickhouse
stop nats
