#!/usr/bin/env bash
# Writes a local ClickHouse config under DATA_DIR and starts clickhouse-server
# in the background on the given ports, recording its pid.
# Usage: clickhouse-local.sh DATA_DIR HTTP_PORT TCP_PORT PIDFILE
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$1"; http_port="$2"; tcp_port="$3"; pidfile="$4"
mkdir -p "$data/log" "$data/tmp" "$data/user_files" "$data/format_schemas" "$data/etc"
sed -e "s#@DATA@#$data#g" -e "s#@HTTP_PORT@#$http_port#g" -e "s#@TCP_PORT@#$tcp_port#g" \
  "$ROOT/deploy/clickhouse/local/config.xml.tmpl" > "$data/etc/config.xml"
cp "$ROOT/deploy/clickhouse/local/users.xml" "$data/etc/users.xml"
bin="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"
nohup "$bin" --config-file="$data/etc/config.xml" > "$data/log/stdout.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$http_port/ping" >/dev/null 2>&1; then exit 0; fi
  sleep 0.2
done
echo "clickhouse-server did not answer on :$http_port; see $data/log" >&2
exit 1
