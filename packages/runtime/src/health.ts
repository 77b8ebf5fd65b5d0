import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';

/** What a check may answer instead of a bare boolean: whether it passes, and why not (shown in the body). */
export interface CheckResult {
  readonly ok: boolean;
  /** JSON-serialisable; in the body's `details` under the check's name while the check fails. */
  readonly detail?: unknown;
}

/** A named check; `true` (or `{ ok: true }`) means fine. */
export type Check = () => boolean | CheckResult;

/** Options for {@link startHealthServer}. */
export interface HealthOptions {
  readonly host: string;
  readonly port: number;
  /** All must pass for 200 on /healthz (the process is alive and its workers run). */
  readonly liveness: Readonly<Record<string, Check>>;
  /** All must pass for 200 on /readyz (it can take traffic: NATS up, config loaded). */
  readonly readiness: Readonly<Record<string, Check>>;
}

/** A running health server. */
export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

function evaluate(checks: Readonly<Record<string, Check>>): {
  ok: boolean;
  checks: Record<string, boolean>;
  details: Record<string, unknown>;
} {
  const results: Record<string, boolean> = {};
  const details: Record<string, unknown> = {};
  let ok = true;
  for (const [name, check] of Object.entries(checks)) {
    let passed = false;
    try {
      const answer = check();
      if (typeof answer === 'boolean') passed = answer;
      else {
        passed = answer.ok;
        if (!passed && answer.detail !== undefined) details[name] = answer.detail;
      }
    } catch {
      passed = false;
    }
    results[name] = passed;
    ok &&= passed;
  }
  return { ok, checks: results, details };
}

/**
 * Serves `GET /healthz` and `GET /readyz` with 200 or 503 and a JSON body
 * naming each check (`{status, checks: {name: boolean}}`, plus `details:
 * {name: detail}` for failing checks that say why), and `GET /metrics`
 * (Prometheus text format). Resolves once listening (port 0 picks a free
 * port).
 */
export async function startHealthServer(options: HealthOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      renderMetrics().then(
        (text) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const checks = path === '/healthz' ? options.liveness : path === '/readyz' ? options.readiness : undefined;
    if (checks === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const result = evaluate(checks);
    res.writeHead(result.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(
      JSON.stringify({
        status: result.ok ? 'ok' : 'fail',
        checks: result.checks,
        ...(Object.keys(result.details).length > 0 ? { details: result.details } : {}),
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
