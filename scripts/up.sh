#!/usr/bin/env bash
# Starts the local stack in the background: nats-server with JetStream,
# clickhouse-server, then every service. State and logs live under .run/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local-env.sh"
mkdir -p "$PID_DIR" "$LOG_DIR" "$RUN_DIR/nats"

wait_http() { # url, what
  for _ in $(seq 1 150); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "[up] $2 did not become ready ($1); see $LOG_DIR" >&2
  return 1
}

if is_running nats; then
  echo "[up] nats-server already running"
else
  # fsync every JetStream write before the PubAck (the default flushes every
  # 2 minutes, so an acknowledged event could be lost with the machine).
  cat > "$RUN_DIR/nats.conf" <<CONF
server_name: hookstream-local
listen: 127.0.0.1:$NATS_PORT
http: 127.0.0.1:$NATS_MONITOR_PORT
jetstream {
  store_dir: "$RUN_DIR/nats"
  sync_interval: always
}
CONF
  nohup "$NATS_SERVER" -c "$RUN_DIR/nats.conf" > "$LOG_DIR/nats.log" 2>&1 &
  echo $! > "$PID_DIR/nats.pid"
  wait_http "http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true" nats-server
  echo "[up] $(bash "$ROOT/scripts/nats-server.sh" version) on nats://127.0.0.1:$NATS_PORT (JetStream store $RUN_DIR/nats, sync_interval: always)"
fi

if is_running clickhouse; then
  echo "[up] clickhouse-server already running"
else
  bash "$ROOT/scripts/clickhouse-local.sh" "$RUN_DIR/clickhouse" "$CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT" "$PID_DIR/clickhouse.pid"
  echo "[up] clickhouse-server on http://127.0.0.1:$CLICKHOUSE_HTTP_PORT (data $RUN_DIR/clickhouse)"
fi

# A demo source so the README's curl works on a fresh stack.
node "$ROOT/scripts/seed-demo.ts"

for svc in "${SERVICES[@]}"; do
  if is_running "$svc"; then
    echo "[up] $svc already running"
    continue
  fi
  HS_HEALTH_PORT="${HEALTH_PORT[$svc]}" nohup node "$ROOT/services/$svc/src/main.ts" >> "$LOG_DIR/$svc.log" 2>&1 &
  echo $! > "$PID_DIR/$svc.pid"
done
for svc in "${SERVICES[@]}"; do
  wait_http "http://127.0.0.1:${HEALTH_PORT[$svc]}/readyz" "$svc"
  echo "[up] $svc ready (health http://127.0.0.1:${HEALTH_PORT[$svc]}/readyz, log $LOG_DIR/$svc.log)"
done

# The walk-through: an echo receiver the `echo` endpoint delivers to, and the
# demo configuration applied through the control plane.
if is_running echo; then
  echo "[up] echo receiver already running"
else
  nohup node "$ROOT/scripts/echo-receiver.ts" >> "$LOG_DIR/echo.log" 2>&1 &
  echo $! > "$PID_DIR/echo.pid"
  echo "[up] echo receiver on http://127.0.0.1:9999/hook (log $LOG_DIR/echo.log)"
fi
node "$ROOT/packages/cli/src/main.ts" apply -f "$ROOT/examples/hookstream.yaml" | sed 's/^/[up] apply: /'

cat <<MSG

hookstream is up. Ingest listens on http://127.0.0.1:$INGEST_PORT
Try:
  curl -i -X POST http://127.0.0.1:$INGEST_PORT/v1/webhooks/demo \\
       -H 'content-type: application/json' -d '{"type":"demo.ping","id":"evt_1"}'

Walk-through (examples/hookstream.yaml): post a Stripe-signed event to the
stripe-demo source and watch the echo endpoint receive it:
  BODY='{"id":"evt_demo_1","type":"charge.succeeded","data":{"object":{"amount":1200}}}'
  TS=\$(date +%s)
  SIG=\$(node -e 'const c=require("node:crypto");process.stdout.write(c.createHmac("sha256",process.argv[1]).update(process.argv[2]+"."+process.argv[3]).digest("hex"))' \\
        whsec_ZGVtby1zdHJpcGUtc2VjcmV0LWRvLW5vdC11c2U "\$TS" "\$BODY")
  curl -i -X POST http://127.0.0.1:$INGEST_PORT/v1/webhooks/stripe-demo \\
       -H 'content-type: application/json' -H "Stripe-Signature: t=\$TS,v1=\$SIG" -d "\$BODY"
  tail .run/logs/echo.log
Then look it up and replay it through the control plane:
  export HS_CONTROL_URL=$HS_CONTROL_URL HS_CONTROL_TOKEN=\$(cat .run/control-token)
  node packages/cli/src/main.ts events list --since 10m
  node packages/cli/src/main.ts replay --endpoint echo --since 10m
The control plane (gRPC) listens on $HS_CONTROL_URL; its token is in .run/control-token:
  HS_CONTROL_URL=$HS_CONTROL_URL HS_CONTROL_TOKEN=\$(cat .run/control-token) node packages/cli/src/main.ts sources list
The web console is at http://127.0.0.1:$HS_CONSOLE_PORT/ — sign in with the token in .run/control-token
(docs/console.md). Stop everything with: make down
MSG
