import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { buildApp, type DeliverApp, loadConfig } from '@hookstream/deliver';
import { createLogger, type NatsHandle, openCircuitBucket, readCircuitReports } from '@hookstream/runtime';
import {
  connectTestNats,
  freePort,
  httpRequest,
  type NatsServer,
  startNatsServer,
  storedMessages,
  waitFor,
  waitForHttpOk,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Webhook } from 'standardwebhooks';
import { attempts, deliverEnv, publishTask, setUpNamespace, startEndpoint, waitForAttempts, waitForDeadLetters } from './helpers.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const FAST_RETRY = { initialDelayMs: 200, maxDelayMs: 400, maxAgeMs: 60_000 };

describe('deliver against a real nats-server and real HTTP endpoints', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  const apps: DeliverApp[] = [];

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    for (const app of apps) await app.close();
    await nats?.drain();
    await server?.stop();
  });

  const env = (ns: string): Record<string, string> => deliverEnv(server.url, ns);
  const setUp = (ns: string, endpoints: object[]) => setUpNamespace(nats, jsm, ns, endpoints, { retry: FAST_RETRY });

  async function start(ns: string, extraEnv: Record<string, string> = {}): Promise<DeliverApp> {
    const app = buildApp(loadConfig({ ...env(ns), ...extraEnv }), { logger });
    apps.push(app);
    await app.run();
    return app;
  }

  it('deliver: a POST carries the raw body, Standard Webhooks headers that verify, and the configured headers', async () => {
    const ep = await startEndpoint();
    const { t } = await setUp('v1', [{ id: 'ok', url: ep.url, headers: { 'x-team': 'billing' } }]);
    await start('v1');
    const body = '{ "id": "ord_1", "note": "caf\u00e9" }';
    await publishTask(nats, t, 'ok', 'evt-sig-1', body, { 'hs-h-content-type': 'application/json; charset=utf-8' });
    await waitFor('the POST', () => (ep.received.length >= 1 ? true : undefined));
    const req = ep.received[0];
    assert.ok(req);
    assert.equal(req.body.toString('utf8'), body, 'raw bytes, not re-serialised');
    assert.equal(req.headers['webhook-id'], 'evt-sig-1');
    assert.equal(req.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(req.headers['user-agent'], 'hookstream/0.1');
    assert.equal(req.headers['x-team'], 'billing');
    const headers = {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
    assert.deepEqual(new Webhook(SECRET).verify(req.body, headers), JSON.parse(body));
    const [record] = await waitForAttempts(jsm, t, 'ok', 1);
    assert.equal(record?.outcome, 'success');
    assert.equal(record?.status, 200);
    assert.equal(record?.attempt, 1);
    assert.equal(record?.next_retry_at, null);
    assert.equal(record?.response_excerpt, 'ok');
    assert.equal(record?.event_type, 'order.created');
    assert.equal(record?.source, 'shop');
    assert.equal(typeof record?.e2e_ms, 'number');
    await ep.close();
  });

  it('deliver: a 500 then 200 endpoint gets the event on the retry, with two attempts recorded', async () => {
    const ep = await startEndpoint((_r, res, nth) => {
      res.statusCode = nth === 1 ? 500 : 200;
      res.end(nth === 1 ? 'boom' : 'ok');
    });
    const { t } = await setUp('v2', [{ id: 'flaky', url: ep.url }]);
    await start('v2');
    await publishTask(nats, t, 'flaky', 'evt-retry-1', '{"n":1}');
    const records = await waitForAttempts(jsm, t, 'flaky', 2);
    assert.equal(ep.received.length, 2);
    assert.deepEqual(
      records.map((r) => [r.attempt, r.status, r.outcome]),
      [
        [1, 500, 'http_5xx'],
        [2, 200, 'success'],
      ],
    );
    assert.equal(records[0]?.response_excerpt, 'boom');
    assert.equal(typeof records[0]?.next_retry_at, 'number');
    assert.equal(ep.received[1]?.headers['webhook-id'], 'evt-retry-1');
    await ep.close();
  });

  it('deliver: 429 honours Retry-After', async () => {
    const ep = await startEndpoint((_r, res, nth) => {
      if (nth === 1) {
        res.writeHead(429, { 'retry-after': '2' });
        res.end();
      } else res.end('ok');
    });
    const { t } = await setUp('v3', [{ id: 'limited', url: ep.url }]);
    await start('v3');
    await publishTask(nats, t, 'limited', 'evt-429', '{}');
    const records = await waitForAttempts(jsm, t, 'limited', 2, 20_000);
    const gap = (ep.received[1]?.at ?? 0) - (ep.received[0]?.at ?? 0);
    console.log(`# 429 Retry-After: 2 -> second request after ${gap.toFixed(0)} ms`);
    assert.ok(gap >= 2_000, `retried after ${gap} ms`);
    assert.equal(records[0]?.outcome, 'rate_limited');
    assert.equal(records[0]?.error, undefined, 'a response came back: no error');
    assert.equal(records[1]?.outcome, 'success');
    await ep.close();
  });

  it('deliver: a hanging endpoint times out at the configured timeout', async () => {
    const ep = await startEndpoint(() => undefined); // never answers
    const { t } = await setUp('v4', [{ id: 'hang', url: ep.url, timeoutMs: 300, retry: { ...FAST_RETRY, maxAgeMs: 600 } }]);
    await start('v4');
    await publishTask(nats, t, 'hang', 'evt-hang', '{}');
    const [first] = await waitForAttempts(jsm, t, 'hang', 1);
    await waitFor('the client to drop the connection', () => (ep.received[0]?.closedAt !== undefined ? true : undefined));
    const held = (ep.received[0]?.closedAt ?? 0) - (ep.received[0]?.at ?? 0);
    console.log(`# hanging endpoint: attempt latency ${String(first?.latency_ms)} ms, connection dropped after ${held.toFixed(0)} ms`);
    assert.equal(first?.outcome, 'timeout');
    assert.equal(first?.status, null);
    assert.equal(first?.error, 'timeout after 300 ms', 'the record says why no response came');
    assert.equal(first?.response_excerpt, '');
    assert.ok(Number(first?.latency_ms) >= 290 && Number(first?.latency_ms) < 1_000, `latency ${String(first?.latency_ms)}`);
    assert.ok(held >= 250 && held < 1_000, `held ${held}`);
    // The retry window (600 ms) closes: dead-lettered as retries_exhausted.
    const [dead] = await waitForDeadLetters(jsm, t, 'hang', 1);
    assert.equal(dead?.header.get(Header.dlqReason), 'retries_exhausted');
    await ep.close();
  });

  it('deliver: 400 goes straight to the DLQ after one attempt', async () => {
    const ep = await startEndpoint((_r, res) => {
      res.statusCode = 400;
      res.end('{"error":"bad field"}');
    });
    const { t } = await setUp('v5', [{ id: 'picky', url: ep.url }]);
    await start('v5');
    await publishTask(nats, t, 'picky', 'evt-400', '{"x":1}');
    const [dead] = await waitForDeadLetters(jsm, t, 'picky', 1);
    assert.equal(dead?.subject, 'v5.hs.dlq.deliver.picky');
    assert.equal(dead?.header.get(Header.dlqReason), 'http_4xx');
    assert.match(dead?.header.get(Header.dlqDetail) ?? '', /HTTP 400/);
    assert.equal(dead?.header.get(Header.eventId), 'evt-400');
    assert.equal(Buffer.from(dead?.data ?? []).toString(), '{"x":1}');
    // Deliver is done with the task once the work-queue stream holds nothing of this namespace (no task, no
    // retry): a second attempt could only come from there, so the counts below are final.
    await waitFor('the task to leave the delivery stream', async () =>
      (await storedMessages(jsm, t.streams.delivery)).length === 0 ? true : undefined,
    );
    await waitForAttempts(jsm, t, 'picky', 1);
    const records = await attempts(jsm, t, 'picky');
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'http_4xx');
    assert.equal(ep.received.length, 1);
    await ep.close();
  });

  it('deliver: 410 disables the endpoint; its next task is dead-lettered without a request', async () => {
    const ep = await startEndpoint((_r, res) => {
      res.statusCode = 410;
      res.end();
    });
    const { t } = await setUp('v6', [{ id: 'gone', url: ep.url }]);
    await start('v6');
    await publishTask(nats, t, 'gone', 'evt-410-a', '{}');
    const [first] = await waitForDeadLetters(jsm, t, 'gone', 1);
    assert.equal(first?.header.get(Header.dlqReason), 'endpoint_gone');
    const state = await (await new Kvm(nats.nc).open(t.buckets.endpointState)).get('gone');
    const value = JSON.parse(new TextDecoder().decode(state?.value)) as Record<string, unknown>;
    assert.equal(value.disabled, true);
    assert.equal(value.reason, 'gone');
    assert.equal(typeof value.at, 'number');
    await publishTask(nats, t, 'gone', 'evt-410-b', '{}');
    const dead = await waitForDeadLetters(jsm, t, 'gone', 2);
    assert.equal(dead[1]?.header.get(Header.dlqReason), 'endpoint_disabled');
    assert.equal(ep.received.length, 1, 'no request for the second task');
    await ep.close();
  });

  it('deliver: a blackholed endpoint does not slow delivery to a healthy one', async () => {
    // Scenario: one endpoint accepts TCP connections and never answers
    // (timeout 2 s, maxConcurrency 2); another answers at once. 50 tasks to
    // each, interleaved. Waiting on the blackhole in order would take
    // 50 x 2 s / 2 = 50 s; the healthy endpoint must get its 50 in seconds.
    const sockets: Socket[] = [];
    const hole = createTcpServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const holePort = (hole.address() as { port: number }).port;
    const ep = await startEndpoint();
    const { t } = await setUp('v7', [
      { id: 'hole', url: `http://127.0.0.1:${holePort}/`, timeoutMs: 2_000, maxConcurrency: 2 },
      { id: 'healthy', url: ep.url },
    ]);
    await start('v7');
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      await publishTask(nats, t, 'hole', `evt-h-${i}`, '{}');
      await publishTask(nats, t, 'healthy', `evt-ok-${i}`, '{}');
    }
    await waitFor('50 healthy deliveries', () => (ep.received.length >= 50 ? true : undefined), 30_000, 10);
    const elapsed = performance.now() - started;
    const serial = 50 * 2_000;
    console.log(
      `# blackhole isolation: healthy endpoint got 50/50 in ${elapsed.toFixed(0)} ms; serial waiting on the blackhole would take ${serial} ms`,
    );
    assert.ok(elapsed < 3_000, `took ${elapsed} ms`);
    assert.equal(new Set(ep.received.map((r) => r.headers['webhook-id'])).size, 50);
    await ep.close();
    for (const s of sockets) s.destroy();
    hole.close();
  });

  it('deliver: the circuit opens after N failures, holds tasks without requests, and a probe closes it', async () => {
    // Scenario: the endpoint fails with 500 until 400 ms after its third
    // failure. failureThreshold 3, openMs 1 s, one request at a time: the
    // circuit opens, nothing is sent for 1 s, the probe succeeds, and all
    // ten events arrive.
    let recoverAt = Number.POSITIVE_INFINITY;
    let failures = 0;
    const ep = await startEndpoint((_r, res) => {
      if (performance.now() < recoverAt) {
        failures++;
        if (failures === 3) recoverAt = performance.now() + 400;
        res.statusCode = 500;
        res.end();
      } else res.end('ok');
    });
    const { t } = await setUp('v8', [
      {
        id: 'breaker',
        url: ep.url,
        maxConcurrency: 1,
        circuit: { failureThreshold: 3, openMs: 1_000 },
        retry: { initialDelayMs: 100, maxDelayMs: 200, maxAgeMs: 60_000 },
      },
    ]);
    const app = await start('v8');
    for (let i = 0; i < 10; i++) await publishTask(nats, t, 'breaker', `evt-c-${i}`, '{}');
    await waitFor('the circuit to open', () => (app.gates.circuitState('breaker') === 'open' ? true : undefined), 10_000, 5);
    // /metrics has one series per state: 1 for the state the circuit is in, 0 for the others.
    const scrape = async () => (await httpRequest({ port: app.healthPort(), path: '/metrics' })).body;
    const circuit = (text: string, state: string) =>
      new RegExp(`^hookstream_circuit_state\\{endpoint="breaker",state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1];
    const whileOpen = await scrape();
    const states = ['closed', 'open', 'half-open'];
    // Scraped within openMs (1 s) of opening: open, or half-open if the scrape was slow; never two at once.
    assert.deepEqual(states.map((s) => circuit(whileOpen, s)).sort(), ['0', '0', '1'], whileOpen);
    assert.notEqual(circuit(whileOpen, 'closed'), '1');
    const okIds = () => new Set(ep.received.filter((r) => r.at >= recoverAt).map((r) => r.headers['webhook-id']));
    await waitFor('all ten delivered', () => (okIds().size === 10 ? true : undefined), 20_000, 20);
    const closed = await waitFor('the attempts in the histogram', async () => {
      const text = await scrape();
      return text.includes('hookstream_delivery_duration_seconds_count{endpoint="breaker",outcome="success"} 10') ? text : undefined;
    });
    assert.deepEqual(
      states.map((s) => circuit(closed, s)),
      ['1', '0', '0'],
    );
    assert.match(closed, /^hookstream_delivery_duration_seconds_count\{endpoint="breaker",outcome="http_5xx"\} 3$/m);
    assert.match(closed, /^hookstream_delivery_duration_seconds_bucket\{le="0\.005",endpoint="breaker",outcome="success"\} \d+$/m);
    assert.match(closed, /^hookstream_delivery_duration_seconds_bucket\{le="30",endpoint="breaker",outcome="success"\} 10$/m);
    assert.match(closed, /^hookstream_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*",service="deliver"\} 1$/m);
    assert.doesNotMatch(closed, /^hookstream_dlq_messages/m, "dead-letter depth is control's to report");
    const third = ep.received[2];
    const fourth = ep.received[3];
    assert.ok(third && fourth);
    const quiet = fourth.at - third.at;
    console.log(
      `# circuit: no requests for ${quiet.toFixed(0)} ms after the third failure (openMs 1000); ${ep.received.length} requests in all`,
    );
    assert.ok(quiet >= 950, `quiet for ${quiet} ms`);
    assert.ok(fourth.at >= recoverAt, 'the probe came after recovery and succeeded');
    assert.equal(ep.received.length, 13, '3 failures + 10 successes: nothing sent while open');
    assert.ok(app.counts.deferred > 0, 'tasks were deferred while open');
    await ep.close();
  });

  it('deliver: a circuit that is not closed is reported in hs_circuits, and the report goes when it closes', async () => {
    // Scenario: the endpoint fails until told otherwise; the circuit opens
    // after two failures and the replica reports it within its report
    // interval (100 ms here). The endpoint recovers, a probe closes the
    // circuit, and the report is deleted.
    let healthy = false;
    const ep = await startEndpoint((_r, res) => {
      res.statusCode = healthy ? 200 : 500;
      res.end();
    });
    const { t } = await setUp('v8r', [
      {
        id: 'flaky',
        url: ep.url,
        circuit: { failureThreshold: 2, openMs: 500 },
        retry: { initialDelayMs: 100, maxDelayMs: 200, maxAgeMs: 60_000 },
      },
    ]);
    const app = buildApp(loadConfig(env('v8r')), { logger, replica: 'replica-a', circuitReportIntervalMs: 100 });
    apps.push(app);
    await app.run();
    const kv = await openCircuitBucket(nats.nc, t.buckets.circuits, { replicas: 1 });
    for (let i = 0; i < 3; i++) await publishTask(nats, t, 'flaky', `evt-r-${i}`, '{}');
    const reported = await waitFor('a circuit report', async () => {
      const reports = await readCircuitReports(kv, Date.now());
      return reports.length > 0 ? reports : undefined;
    });
    assert.equal(reported.length, 1);
    assert.equal(reported[0]?.endpoint, 'flaky');
    assert.equal(reported[0]?.replica, 'replica-a');
    assert.ok(reported[0]?.state === 'open' || reported[0]?.state === 'half-open', String(reported[0]?.state));
    healthy = true;
    await waitFor('the report to go', async () => ((await readCircuitReports(kv, Date.now())).length === 0 ? true : undefined), 15_000);
    assert.equal(app.gates.circuitState('flaky'), 'closed');
    await ep.close();
  });

  it('deliver: kill -9 while tasks wait on retry loses no task', async () => {
    // Scenario: the endpoint answers 503 to everything; 20 tasks are each
    // attempted once and wait on a ~1-2 s backoff when the production entry
    // point is killed with SIGKILL. The endpoint recovers, deliver is
    // started again, and every event arrives.
    let healthy = false;
    const ep = await startEndpoint((_r, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end();
    });
    const { t } = await setUp('v9', [
      {
        id: 'crashy',
        url: ep.url,
        retry: { initialDelayMs: 2_000, maxDelayMs: 4_000, maxAgeMs: 120_000 },
        // Keep the circuit out of this scenario.
        circuit: { failureThreshold: 1_000, openMs: 1_000 },
      },
    ]);
    const launch = async () => {
      const healthPort = await freePort();
      const child = spawn(process.execPath, [MAIN], {
        env: { ...process.env, ...env('v9'), HS_HEALTH_PORT: String(healthPort), HS_LOG_LEVEL: 'warn', HS_DELIVER_ACK_WAIT_MS: '4000' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitForHttpOk(healthPort, '/readyz');
      return child;
    };
    const first = await launch();
    const firstExited = new Promise((resolve) => first.once('exit', resolve));
    const ids = Array.from({ length: 20 }, (_, i) => `evt-k-${i}`);
    try {
      for (const id of ids) await publishTask(nats, t, 'crashy', id, '{}');
      await waitForAttempts(jsm, t, 'crashy', 20);
    } finally {
      first.kill('SIGKILL');
      await firstExited;
    }
    assert.ok(ep.received.every((r) => r.at > 0) && ep.received.length >= 20, 'each task attempted once before the kill');
    const before = ep.received.length;
    healthy = true;
    const second = await launch();
    try {
      const delivered = () => new Set(ep.received.filter((_r, i) => i >= before).map((r) => String(r.headers['webhook-id'])));
      await waitFor('every task delivered after the restart', () => (delivered().size === ids.length ? true : undefined), 30_000, 50);
      assert.deepEqual([...delivered()].sort(), [...ids].sort());
      const records = await attempts(jsm, t, 'crashy');
      assert.ok(
        records.filter((r) => r.outcome === 'success').every((r) => Number(r.attempt) >= 2),
        'the backoff state (hs-attempt) survived the crash',
      );
    } finally {
      const gone = new Promise((resolve) => second.once('exit', resolve));
      second.kill('SIGTERM');
      await gone;
      await ep.close();
    }
  });

  it('deliver: an endpoint at 169.254.169.254 is blocked: DLQ blocked, attempt outcome blocked', async () => {
    const { t } = await setUp('v10', [{ id: 'meta', url: 'http://169.254.169.254/latest/meta-data/' }]);
    await start('v10');
    await publishTask(nats, t, 'meta', 'evt-ssrf', '{}');
    const [dead] = await waitForDeadLetters(jsm, t, 'meta', 1);
    assert.equal(dead?.header.get(Header.dlqReason), 'blocked');
    assert.match(dead?.header.get(Header.dlqDetail) ?? '', /169\.254\.169\.254/);
    const [record] = await waitForAttempts(jsm, t, 'meta', 1);
    assert.equal(record?.outcome, 'blocked');
    assert.equal(record?.status, null);
    assert.equal(record?.next_retry_at, null);
  });
});
