// Flow control, limits across replicas and strict ordering, against a real
// nats-server and real HTTP endpoints. No timing assertions: what is checked
// is what a subscriber would observe (requests in flight, request starts per
// second against the configured limit, order, every event arriving) and what
// deliver did (naks).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { buildApp, type DeliverApp, loadConfig } from '@hookstream/deliver';
import { orderingLane, parseEndpointConfig } from '@hookstream/models';
import { AckingPublisher, createLogger, type NatsHandle, type Topology } from '@hookstream/runtime';
import { connectTestNats, freePort, type NatsServer, startNatsServer, waitFor, waitForHttpOk } from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { endpointConsumerName } from '../src/lanes.ts';
import {
  deliverEnv,
  publishTask,
  type Responder,
  setUpNamespace,
  startEndpoint as startTestEndpoint,
  TEST_SECRET,
  type TestEndpoint,
  taskHeaders,
  waitForDeadLetters,
} from './helpers.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const SECRET = TEST_SECRET;

/** Tracks requests in flight at the receiver: the most seen at once. */
function inFlightMeter() {
  let now = 0;
  let max = 0;
  return {
    begin(res: ServerResponse): void {
      now++;
      max = Math.max(max, now);
      res.once('close', () => now--);
    },
    get max() {
      return max;
    },
  };
}

describe('deliver flow control against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  const apps: DeliverApp[] = [];
  const children: ChildProcess[] = [];
  const endpoints: TestEndpoint[] = [];
  // Closed in after() too, so a failed assertion cannot leave a listening socket that keeps the file from exiting.
  const startEndpoint = async (respond: Responder): Promise<TestEndpoint> => {
    const ep = await startTestEndpoint(respond);
    endpoints.push(ep);
    return ep;
  };

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
  });

  const env = (ns: string): Record<string, string> => deliverEnv(server.url, ns);
  const setUp = (ns: string, endpoints: object[]) => setUpNamespace(nats, jsm, ns, endpoints);

  async function start(ns: string, extraEnv: Record<string, string> = {}): Promise<DeliverApp> {
    const app = buildApp(loadConfig({ ...env(ns), ...extraEnv }), { logger });
    apps.push(app);
    await app.run();
    return app;
  }

  async function publishMany(t: Topology, endpointId: string, ids: readonly string[]): Promise<void> {
    const publisher = new AckingPublisher(nats.nc, 10_000);
    try {
      // In order (the stream order is the order a strictly ordered endpoint must see).
      for (const id of ids)
        await publisher.publish(t.deliver(endpointId), new TextEncoder().encode(`{"id":"${id}"}`), taskHeaders(endpointId, id));
    } finally {
      publisher.close();
    }
  }

  const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  const webhookIds = (received: readonly { headers: Record<string, unknown> }[]): string[] =>
    received.map((r) => String(r.headers['webhook-id']));

  it('deliver: tasks for a busy endpoint wait in the stream, not in a nak loop, and never exceed maxConcurrency', async () => {
    // Scenario: 60 tasks at once for an endpoint that takes 40 ms per request
    // with maxConcurrency 3. The old design nak'ed every task that found the
    // endpoint busy; now the consumer hands out only 3 at a time.
    const meter = inFlightMeter();
    const ep = await startEndpoint((_r, res) => {
      meter.begin(res);
      setTimeout(() => res.end('ok'), 40);
    });
    const { t } = await setUp('f1', [{ id: 'busy', url: ep.url, maxConcurrency: 3 }]);
    const app = await start('f1');
    const all = ids('busy', 60);
    await publishMany(t, 'busy', all);
    await waitFor('all 60 delivered', () => (new Set(webhookIds(ep.received)).size === 60 ? true : undefined), 30_000, 20);
    assert.ok(meter.max <= 3, `at most 3 requests in flight, saw ${meter.max}`);
    assert.equal(meter.max, 3, 'the endpoint got its full concurrency');
    assert.equal(app.worker().counts.nak, 0, 'no task was nak-ed');
    assert.deepEqual(app.endpointConsumers(), ['busy']);
    await ep.close();
  });

  it('deliver: three replicas keep an endpoint within maxConcurrency 4 and its rate limit in total', async () => {
    // Scenario: 3 deliver replicas, one endpoint (maxConcurrency 4, 20/s)
    // answering after 10 ms, 70 tasks. Per-replica limits would allow 12 in
    // flight and 60/s.
    const meter = inFlightMeter();
    const starts: number[] = [];
    const ep = await startEndpoint((_r, res) => {
      starts.push(performance.now());
      meter.begin(res);
      setTimeout(() => res.end('ok'), 10);
    });
    const { t } = await setUp('f2', [{ id: 'paced', url: ep.url, maxConcurrency: 4, rateLimitPerSecond: 20 }]);
    for (let i = 0; i < 3; i++) await start('f2');
    const all = ids('paced', 70);
    await publishMany(t, 'paced', all);
    await waitFor('all 70 delivered', () => (new Set(webhookIds(ep.received)).size === 70 ? true : undefined), 60_000, 20);
    assert.ok(meter.max <= 4, `at most 4 in flight across 3 replicas, saw ${meter.max}`);
    // Any 1 s window holds at most rate + burst (= slots) request starts.
    let worst = 0;
    for (let i = 0; i < starts.length; i++) {
      let j = i;
      while (j < starts.length && (starts[j] as number) - (starts[i] as number) < 1_000) j++;
      worst = Math.max(worst, j - i);
    }
    assert.ok(worst <= 24, `at most 20/s + a burst of 4 in any second, saw ${worst}`);
    const servedBy = apps.slice(-3).map((a) => a.counts.attempts);
    assert.equal(
      servedBy.reduce((a, b) => a + b, 0),
      70,
    );
    await ep.close();
  });

  it('deliver: a replica killed mid-request gives its slots back within the ack wait', async () => {
    // Scenario: a deliver process holds both slots of an endpoint
    // (maxConcurrency 2) in requests that hang; it is killed with SIGKILL. A
    // second replica gets those tasks once the ack wait (3 s) has passed,
    // and every task arrives.
    let hang = true;
    const ep = await startEndpoint((_r, res) => {
      if (!hang) res.end('ok');
    });
    const { t } = await setUp('f3', [{ id: 'held', url: ep.url, maxConcurrency: 2, timeoutMs: 1_400, retry: { initialDelayMs: 100 } }]);
    const healthPort = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...env('f3'), HS_HEALTH_PORT: String(healthPort), HS_LOG_LEVEL: 'warn', HS_DELIVER_ACK_WAIT_MS: '3000' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    await waitForHttpOk(healthPort, '/readyz');
    const all = ids('held', 6);
    await publishMany(t, 'held', all);
    await waitFor('two requests hanging', () => (ep.received.length >= 2 ? true : undefined), 15_000, 20);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.equal(ep.received.length, 2, 'only the two slots were taken');
    hang = false;
    await start('f3', { HS_DELIVER_ACK_WAIT_MS: '3000' });
    await waitFor(
      'every task delivered by the second replica',
      () => (new Set(webhookIds(ep.received.filter((_r, i) => i >= 2))).size === all.length ? true : undefined),
      30_000,
      20,
    );
    await ep.close();
  });

  it('deliver: tasks of an endpoint nobody configured are dead-lettered endpoint_deleted, and its consumer goes', async () => {
    // Scenario: a task waits on hs.deliver.ghost (its endpoint was deleted
    // before deliver saw it). The periodic scan starts a consumer for it; the
    // task is dead-lettered; the next scan deletes the drained consumer.
    const { t } = await setUp('f4', []);
    await publishTask(nats, t, 'ghost', 'evt-ghost', '{}');
    await start('f4', { HS_DELIVER_SCAN_INTERVAL_MS: '200' });
    const [dead] = await waitForDeadLetters(jsm, t, 'ghost', 1);
    assert.equal(dead?.header.get('hs-dlq-reason'), 'endpoint_deleted');
    await waitFor(
      'the drained consumer is deleted',
      async () =>
        (await jsm.consumers.info(t.streams.delivery, endpointConsumerName('ghost')).catch(() => undefined)) === undefined
          ? true
          : undefined,
      15_000,
      100,
    );
  });

  it('deliver: 500 events to a strictly ordered endpoint arrive in order, each once, through failures and two SIGKILLs', async () => {
    // Scenario: the endpoint fails every 7th request once (500), deliver is
    // the production entry point and is killed with SIGKILL twice mid-run.
    // The endpoint dedupes on webhook-id as Standard Webhooks receivers do:
    // a kill between its 2xx and deliver's ack may repeat the same event at
    // once, never an earlier one after a later one.
    let nth = 0;
    const accepted: string[] = [];
    const ep = await startEndpoint((r, res) => {
      nth++;
      if (nth % 7 === 0) {
        res.statusCode = 500;
        res.end();
        return;
      }
      accepted.push(String(r.headers['webhook-id']));
      res.end('ok');
    });
    const { t } = await setUp('f5', [
      {
        id: 'ordered',
        url: ep.url,
        ordering: 'strict',
        retry: { initialDelayMs: 50, maxDelayMs: 200, maxAgeMs: 300_000 },
        circuit: { failureThreshold: 1_000, openMs: 1_000 },
      },
    ]);
    const launch = async (): Promise<ChildProcess> => {
      const healthPort = await freePort();
      const child = spawn(process.execPath, [MAIN], {
        env: { ...process.env, ...env('f5'), HS_HEALTH_PORT: String(healthPort), HS_LOG_LEVEL: 'warn', HS_DELIVER_ACK_WAIT_MS: '2000' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      await waitForHttpOk(healthPort, '/readyz');
      return child;
    };
    const all = ids('ord', 500);
    await publishMany(t, 'ordered', all);
    let child = await launch();
    for (const at of [150, 320]) {
      await waitFor(`${at} events accepted`, () => (accepted.length >= at ? true : undefined), 60_000, 5);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      child = await launch();
    }
    await waitFor('all 500 accepted', () => (new Set(accepted).size === 500 ? true : undefined), 120_000, 20);
    const firstSeen = accepted.filter((id, i) => accepted.indexOf(id) === i);
    assert.deepEqual(firstSeen, all, 'accepted in publish order');
    const repeats = accepted.filter((id, i) => i > 0 && accepted.indexOf(id) !== i);
    assert.ok(
      accepted.every((id, i) => accepted.indexOf(id) === i || accepted[i - 1] === id),
      `a repeat is only ever an immediate one (deduped by webhook-id); repeats: ${repeats.join(',')}`,
    );
    assert.ok(nth >= 500 + Math.floor(500 / 7), 'the failures were retried');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await ep.close();
  });

  it('deliver: an endpoint ordered by customer keeps each customer in order and runs customers in parallel lanes', async () => {
    // Scenario: 120 events of 12 customers, interleaved, to an endpoint
    // ordered by $.customer with 4 lanes; every 5th request fails once. Route
    // hashes the key to a lane (tasks here are published as route would).
    let nth = 0;
    const meter = inFlightMeter();
    const accepted: { id: string; customer: string }[] = [];
    const ep = await startEndpoint((r, res) => {
      meter.begin(res);
      setTimeout(() => {
        nth++;
        if (nth % 5 === 0) {
          res.statusCode = 500;
          res.end();
          return;
        }
        accepted.push({ id: String(r.headers['webhook-id']), customer: (JSON.parse(r.body.toString()) as { customer: string }).customer });
        res.end('ok');
      }, 5);
    });
    const config = {
      id: 'bycustomer',
      url: ep.url,
      secrets: [{ id: 's1', value: SECRET }],
      ordering: 'strict',
      orderingKey: { from: 'json', path: '$.customer' },
      orderingLanes: 4,
      retry: { initialDelayMs: 50, maxDelayMs: 100, maxAgeMs: 300_000 },
      circuit: { failureThreshold: 1_000, openMs: 1_000 },
    };
    const { t } = await setUp('f6', [config]);
    const endpoint = parseEndpointConfig(config);
    const app = await start('f6');
    const events = Array.from({ length: 120 }, (_, i) => ({ id: `cust-${String(i).padStart(4, '0')}`, customer: `c${i % 12}` }));
    const publisher = new AckingPublisher(nats.nc, 10_000);
    const lanesUsed = new Set<number>();
    for (const e of events) {
      const body = { customer: e.customer, n: e.id };
      const lane = orderingLane(endpoint, () => undefined, body) as number;
      lanesUsed.add(lane);
      await publisher.publish(
        t.deliver('bycustomer', lane),
        new TextEncoder().encode(JSON.stringify(body)),
        taskHeaders('bycustomer', e.id, { [Header.lane]: String(lane) }),
      );
    }
    publisher.close();
    assert.ok(lanesUsed.size > 1, 'the customers spread over several lanes');
    await waitFor('all 120 accepted', () => (new Set(accepted.map((a) => a.id)).size === 120 ? true : undefined), 60_000, 20);
    for (let c = 0; c < 12; c++) {
      const mine = events.filter((e) => e.customer === `c${c}`).map((e) => e.id);
      const seen = accepted.filter((a) => a.customer === `c${c}`).map((a) => a.id);
      assert.deepEqual(
        seen.filter((id, i) => seen.indexOf(id) === i),
        mine,
        `customer c${c} in order`,
      );
    }
    assert.ok(meter.max > 1 && meter.max <= 4, `lanes run in parallel, one request each: ${meter.max} in flight at most`);
    assert.deepEqual(app.endpointConsumers().sort(), ['bycustomer.0', 'bycustomer.1', 'bycustomer.2', 'bycustomer.3']);
    await ep.close();
  });

  it('deliver: an open circuit holds only its slots: queued tasks stay in the stream, a few naks per open period', async () => {
    // Scenario: an endpoint that always answers 500, maxConcurrency 4, circuit
    // opens after 2 failures for 1 s; 200 tasks queued. While the circuit is
    // open, the 4 tasks in hand are nak'ed with the rest of the open time and
    // the server hands out nothing more: the other tasks are never pulled,
    // so the cost of waiting is the naks of 4 slots per open period.
    const ep = await startEndpoint((_r, res) => {
      res.statusCode = 500;
      res.end();
    });
    const { t } = await setUp('f7', [
      {
        id: 'down',
        url: ep.url,
        maxConcurrency: 4,
        circuit: { failureThreshold: 2, openMs: 1_000 },
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, maxAgeMs: 300_000 },
      },
    ]);
    const app = await start('f7');
    await publishMany(t, 'down', ids('down', 200));
    // The first 4 requests go out together (all 4 slots, before any failure
    // is known); then one probe per open period. Wait for three probes.
    await waitFor('three probes', () => (ep.received.length >= 4 + 3 ? true : undefined), 30_000, 20);
    const info = await jsm.consumers.info(t.streams.delivery, endpointConsumerName('down'));
    const periods = ep.received.length - 4;
    // Pulled so far: the 4 in hand, plus one more for every attempt (a failed
    // attempt moves its task to hs.retry and frees its slot).
    assert.ok(info.num_pending >= 200 - 4 - ep.received.length, `the queued tasks were never pulled: ${info.num_pending} still pending`);
    assert.ok(info.num_ack_pending <= 4);
    const naks = app.worker().counts.nak;
    // The 4 slots, each nak'ed about twice per period (while the probe is out, then for the reopened circuit);
    // the old design nak'ed every one of the 200 tasks each time it came back.
    assert.ok(naks <= 8 * (periods + 2), `a few naks per slot per open period: ${naks} naks over ${periods} periods`);
    await ep.close();
  });
});
