# Shared settings for the local stack (sourced by up.sh, down.sh, status.sh).
# Override any of these in the environment before `make up`.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${HS_RUN_DIR:-$ROOT/.run}"
PID_DIR="$RUN_DIR/pids"
LOG_DIR="$RUN_DIR/logs"
NATS_PORT="${HS_LOCAL_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${HS_LOCAL_NATS_MONITOR_PORT:-8222}"
CLICKHOUSE_HTTP_PORT="${HS_LOCAL_CLICKHOUSE_HTTP_PORT:-8123}"
CLICKHOUSE_TCP_PORT="${HS_LOCAL_CLICKHOUSE_TCP_PORT:-9000}"
INGEST_PORT="${HS_INGEST_PORT:-8080}"
# The local stack listens on loopback only; set these to 0.0.0.0 to expose it.
export HS_INGEST_HOST="${HS_INGEST_HOST:-127.0.0.1}"
export HS_HEALTH_HOST="${HS_HEALTH_HOST:-127.0.0.1}"
# service name -> health port
SERVICES=(ingest verify dedup validate route deliver analytics control)
declare -A HEALTH_PORT=([ingest]=9101 [verify]=9102 [dedup]=9103 [validate]=9104 [route]=9105 [deliver]=9106 [analytics]=9108 [control]=9107)
if [ -x "$ROOT/.tools/node/bin/node" ]; then export PATH="$ROOT/.tools/node/bin:$PATH"; fi
NATS_SERVER="$(bash "$ROOT/scripts/nats-server.sh" path)"
export PATH="$PATH:/usr/sbin"
export HS_NATS_URL="nats://127.0.0.1:$NATS_PORT"
export HS_INGEST_PORT="$INGEST_PORT"
export HS_CLICKHOUSE_URL="http://127.0.0.1:$CLICKHOUSE_HTTP_PORT"
export HS_CONTROL_PORT="${HS_CONTROL_PORT:-50051}"
export HS_CONTROL_HOST="${HS_CONTROL_HOST:-127.0.0.1}"
export HS_CONSOLE_PORT="${HS_CONSOLE_PORT:-8090}"
export HS_CONSOLE_HOST="${HS_CONSOLE_HOST:-127.0.0.1}"
export HS_DELIVER_ALLOW_CIDRS="${HS_DELIVER_ALLOW_CIDRS:-127.0.0.1/32}"
# A local control-plane token and master key, made once and kept in .run/,
# readable by their owner only (mode 0600; older copies are tightened too).
mkdir -p "$RUN_DIR"
[ -f "$RUN_DIR/control-token" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$RUN_DIR/control-token")
[ -f "$RUN_DIR/master-key" ] || (umask 077 && head -c 32 /dev/urandom | base64 > "$RUN_DIR/master-key")
chmod 600 "$RUN_DIR/control-token" "$RUN_DIR/master-key"
export HS_CONTROL_TOKEN="${HS_CONTROL_TOKEN:-$(cat "$RUN_DIR/control-token")}"
export HS_MASTER_KEY="${HS_MASTER_KEY:-$(cat "$RUN_DIR/master-key")}"
export HS_CONTROL_URL="${HS_CONTROL_URL:-127.0.0.1:$HS_CONTROL_PORT}"

is_running() { [ -f "$PID_DIR/$1.pid" ] && kill -0 "$(cat "$PID_DIR/$1.pid")" 2>/dev/null; }
