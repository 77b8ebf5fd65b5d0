// The last hop's idempotency, against a real nats-server (and, for the
// attempt rows, a real ClickHouse fed by the analytics service's production
// entry point). After a broker crash JetStream may hand out a task whose ack
// it forgot, or store again a task whose `Nats-Msg-Id` a work queue forgot:
// deliver sees the same task a second time. Both look alike to deliver (the
// same headers and body), so the tests publish the task again with a new
// `Nats-Msg-Id`, deterministically, instead of crashing a broker.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { buildApp, type DeliverApp, loadConfig } from '@hookstream/deliver';
import { createLogger, type NatsHandle, type Topology } from '@hookstream/runtime';
import {
  type ClickHouseServer,
  connectTestNats,
  freePort,
  type NatsServer,
  startClickHouse,
  startNatsServer,
  waitFor,
  waitForHttpOk,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { DeliveredBucket, DeliveredReadError, deliveredKey, MarkerWriteError, openDeliveredBucket } from '../src/delivered.ts';
import { endpointConsumerName } from '../src/lanes.ts';
import { readTask } from '../src/task.ts';
import { attempts, deliverEnv, publishTask, setUpNamespace, startEndpoint, type TestEndpoint } from './helpers.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const ANALYTICS_MAIN = fileURLToPath(new URL('../../analytics/src/main.ts', import.meta.url));

describe('deliver: a task already delivered is not POSTed again', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let clickhouse: ClickHouseServer | undefined;
  const apps: DeliverApp[] = [];
  const endpoints: TestEndpoint[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const app of apps) await app.close();
    for (const ep of endpoints) await ep.close().catch(() => undefined);
    await nats?.drain();
    await server?.stop();
    await clickhouse?.stop();
  });

  async function start(ns: string, extraEnv: Record<string, string> = {}): Promise<DeliverApp> {
    const app = buildApp(loadConfig({ ...deliverEnv(server.url, ns), ...extraEnv }), { logger });
    apps.push(app);
    await app.run();
    return app;
  }

  async function endpoint(...args: Parameters<typeof startEndpoint>): Promise<TestEndpoint> {
    const ep = await startEndpoint(...args);
    endpoints.push(ep);
    return ep;
  }

  /** The delivery's marker in `hs_delivered`, once stored. */
  async function markerOf(t: Topology, endpointId: string, eventId: string): Promise<Record<string, unknown>> {
    const kv = await new Kvm(nats.nc).open(t.buckets.delivered);
    return waitFor(`the marker of ${eventId}`, async () => {
      const entry = await kv.get(deliveredKey(eventId, endpointId));
      return entry?.operation === 'PUT' ? (entry.json() as Record<string, unknown>) : undefined;
    });
  }

  /** Waits until the endpoint's consumer has nothing pending or unacknowledged. */
  async function drained(t: Topology, endpointId: string): Promise<void> {
    await waitFor(`${endpointId} drained`, async () => {
      const info = await jsm.consumers.info(t.streams.delivery, endpointConsumerName(endpointId));
      return info.num_pending + info.num_ack_pending === 0 ? true : undefined;
    });
  }

  it('deliver: a delivered task handed out again (a lost ack, a republished copy) is acked without a POST and counted as suppressed', async () => {
    // Scenario: the task is delivered (200, marker stored, acked); then the
    // same task arrives again, as it does after JetStream forgot the ack or
    // the publish id. The subscriber must get exactly one POST.
    const ep = await endpoint();
    const { t } = await setUpNamespace(nats, jsm, 'dup1', [{ id: 'ledger', url: ep.url }]);
    const app = await start('dup1');
    await publishTask(nats, t, 'ledger', 'evt-dup-1', '{"n":1}');
    const marker = await markerOf(t, 'ledger', 'evt-dup-1');
    await drained(t, 'ledger');
    assert.equal(ep.received.length, 1);

    await publishTask(nats, t, 'ledger', 'evt-dup-1', '{"n":1}', { 'Nats-Msg-Id': 'evt-dup-1:ledger:republished' });
    await waitFor('the copy to be handled', () => (app.counts.suppressed === 1 ? true : undefined));
    await drained(t, 'ledger');
    // Another event still goes through, so the copy had its chance to be POSTed.
    await publishTask(nats, t, 'ledger', 'evt-dup-2', '{"n":2}');
    await waitFor('the next event', () => (ep.received.length >= 2 ? true : undefined));
    await drained(t, 'ledger');

    assert.deepEqual(
      ep.received.map((r) => r.headers['webhook-id']),
      ['evt-dup-1', 'evt-dup-2'],
      'one POST per event',
    );
    const records = await attempts(jsm, t, 'ledger');
    assert.equal(records.filter((r) => r.event_id === 'evt-dup-1').length, 1, 'no attempt record for a request not made');
    assert.equal(marker.request_id, records.find((r) => r.event_id === 'evt-dup-1')?.request_id, 'the marker names the request');
    assert.equal(marker.attempt, 1);
    const metricsText = await (await fetch(`http://127.0.0.1:${app.healthPort()}/metrics`)).text();
    assert.match(metricsText, /hookstream_delivery_suppressed_total\{endpoint="ledger"\} 1\n/);
    assert.equal(app.counts.markerFailures, 0);
  });

  it('deliver: on a strictly ordered endpoint a delivered head task that comes back is skipped and order holds', async () => {
    // Scenario: A fails once (its attempts go to hs_delivery_heads and it
    // stays at the head), then succeeds; a copy of A arrives, then B. The
    // subscriber sees A's two requests (503, 200), then B: no third A.
    const ep = await endpoint((req, res, nth) => {
      res.statusCode = nth === 1 && req.headers['webhook-id'] === 'evt-s-a' ? 503 : 200;
      res.end();
    });
    const { t } = await setUpNamespace(nats, jsm, 'dup2', [
      { id: 'ordered', url: ep.url, ordering: 'strict', retry: { initialDelayMs: 100, maxDelayMs: 200, maxAgeMs: 60_000 } },
    ]);
    const app = await start('dup2');
    await publishTask(nats, t, 'ordered', 'evt-s-a', '{}');
    await markerOf(t, 'ordered', 'evt-s-a');
    const head = await (await new Kvm(nats.nc).open(t.buckets.deliveryHeads)).get('ordered');
    assert.equal((head?.json() as { key: string } | undefined)?.key, 'evt-s-a:ordered', 'the head state was used for the retry');
    await publishTask(nats, t, 'ordered', 'evt-s-a', '{}', { 'Nats-Msg-Id': 'evt-s-a:ordered:republished' });
    await publishTask(nats, t, 'ordered', 'evt-s-b', '{}');
    await markerOf(t, 'ordered', 'evt-s-b');
    await drained(t, 'ordered');
    assert.deepEqual(
      ep.received.map((r) => r.headers['webhook-id']),
      ['evt-s-a', 'evt-s-a', 'evt-s-b'],
    );
    assert.equal(app.counts.suppressed, 1);
  });

  it('deliver: an attempt repeated because its marker is missing (deliver died after the POST) is a second POST and a second attempt row', async () => {
    // Scenario: the task got its 200 and its attempt record, but deliver
    // died before the marker was stored (here: the marker is deleted). The
    // task comes back and attempt 1 is made again: the subscriber sees the
    // same webhook-id twice, and ClickHouse must hold both requests (before
    // request ids both records had the row id `…:attempt:1`, and one
    // replaced the other).
    clickhouse = await startClickHouse();
    const ep = await endpoint();
    const ns = 'dup3';
    const { t } = await setUpNamespace(nats, jsm, ns, [{ id: 'crashy', url: ep.url }]);
    const healthPort = await freePort();
    const analytics = spawn(process.execPath, [ANALYTICS_MAIN], {
      env: {
        ...process.env,
        HS_NATS_URL: server.url,
        HS_NAMESPACE: ns,
        HS_CLICKHOUSE_URL: clickhouse.url,
        HS_CLICKHOUSE_DATABASE: 'hs_dup',
        HS_ANALYTICS_BATCH_INTERVAL_MS: '1000',
        HS_HEALTH_PORT: String(healthPort),
        HS_HEALTH_HOST: '127.0.0.1',
        HS_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(analytics);
    await waitForHttpOk(healthPort, '/readyz');
    await start(ns);

    await publishTask(nats, t, 'crashy', 'evt-crash', '{}');
    await markerOf(t, 'crashy', 'evt-crash');
    await drained(t, 'crashy');
    await (await new Kvm(nats.nc).open(t.buckets.delivered)).delete(deliveredKey('evt-crash', 'crashy'));
    await publishTask(nats, t, 'crashy', 'evt-crash', '{}', { 'Nats-Msg-Id': 'evt-crash:crashy:redelivered' });
    await waitFor('the second POST', () => (ep.received.length >= 2 ? true : undefined));

    assert.deepEqual(
      ep.received.map((r) => r.headers['webhook-id']),
      ['evt-crash', 'evt-crash'],
      'the subscriber sees the same webhook-id twice',
    );
    const rows = await waitFor('two attempt rows', async () => {
      const text = await clickhouse?.query(
        "SELECT row_id, attempt, toString(outcome) AS outcome FROM hs_dup.delivery_attempts FINAL WHERE event_id = 'evt-crash' ORDER BY at FORMAT JSONEachRow",
      );
      const found = (text ?? '')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { row_id: string; attempt: number; outcome: string });
      return found.length >= 2 ? found : undefined;
    });
    assert.equal(rows.length, 2);
    assert.deepEqual(
      rows.map((r) => [Number(r.attempt), r.outcome]),
      [
        [1, 'success'],
        [1, 'success'],
      ],
    );
    assert.notEqual(rows[0]?.row_id, rows[1]?.row_id);
    for (const r of rows) assert.match(r.row_id, /^evt-crash:crashy:attempt:1:[0-9a-f-]{36}$/);
  });

  it('deliver: the hs_delivered bucket keeps markers for HS_DELIVER_DELIVERED_TTL_MS, also when the setting changes', async () => {
    await setUpNamespace(nats, jsm, 'dup4', []);
    const first = await start('dup4', { HS_DELIVER_DELIVERED_TTL_MS: '120000' });
    const stream = `KV_dup4_hs_delivered`;
    const maxAge = async () => (await jsm.streams.info(stream)).config;
    assert.equal((await maxAge()).max_age, 120_000 * 1_000_000);
    assert.equal((await maxAge()).max_msgs_per_subject, 1);
    assert.equal((await maxAge()).allow_direct, true);
    await first.close();
    await start('dup4', { HS_DELIVER_DELIVERED_TTL_MS: '600000' });
    assert.equal((await maxAge()).max_age, 600_000 * 1_000_000);
  });

  it('deliver: a marker that cannot be stored is published again, then reported; a read that cannot be answered rejects', async () => {
    const failures: Error[] = [];
    const bucket = new DeliveredBucket(nats.nc, {
      bucket: 'no_such_bucket',
      stream: 'KV_no_such_bucket',
      timeoutMs: 2_000,
      retryMs: 10,
      onWriteError: (_t, _m, err) => failures.push(err),
    });
    try {
      const task = readTask({ subject: 'hs.deliver.ep', header: (n) => (n === Header.eventId ? 'evt-x' : undefined) }, Date.now());
      bucket.put(task, { request_id: 'r', attempt: 1, at: 1 });
      await waitFor('the failure', () => (failures.length > 0 ? true : undefined));
      assert.ok(failures[0] instanceof MarkerWriteError, String(failures[0]));
      assert.match(failures[0]?.message ?? '', /no responders.*\(3 publishes\)/);
      await assert.rejects(bucket.get(task), DeliveredReadError);
    } finally {
      await bucket.close();
    }
    // A bucket that appears after the first publish gets the marker on a republish.
    const late = 'dup6_hs_delivered';
    const retrying = new DeliveredBucket(nats.nc, {
      bucket: late,
      stream: `KV_${late}`,
      timeoutMs: 2_000,
      onWriteError: (_t, _m, err) => failures.push(err),
    });
    try {
      const task = readTask({ subject: 'hs.deliver.ep', header: (n) => (n === Header.eventId ? 'evt-late' : undefined) }, Date.now());
      retrying.put(task, { request_id: 'r-late', attempt: 1, at: 2 });
      await openDeliveredBucket(nats.nc, late, { replicas: 1, ttlMs: 60_000 });
      const stored = await waitFor('the republished marker', () => retrying.get(task), 10_000);
      assert.equal(stored.request_id, 'r-late');
      assert.equal(failures.length, 1, 'not reported: it was stored in the end');
    } finally {
      await retrying.close();
    }
    // And a bucket that exists answers "none", then the marker.
    const name = 'dup5_hs_delivered';
    const stream = await openDeliveredBucket(nats.nc, name, { replicas: 1, ttlMs: 60_000 });
    const real = new DeliveredBucket(nats.nc, {
      bucket: name,
      stream,
      timeoutMs: 2_000,
      onWriteError: (_t, _m, err) => failures.push(err),
    });
    try {
      const task = readTask(
        { subject: 'hs.deliver.ep', header: (n) => (n === Header.eventId ? 'evt:with:colons' : undefined) },
        Date.now(),
      );
      assert.equal(await real.get(task), undefined);
      real.put(task, { request_id: 'r1', attempt: 2, at: 5 });
      assert.deepEqual(await waitFor('the marker', () => real.get(task)), { request_id: 'r1', attempt: 2, at: 5 });
      assert.equal(failures.length, 1, 'only the missing bucket failed');
    } finally {
      await real.close();
    }
  });
});
