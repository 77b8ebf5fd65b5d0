import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { EndpointStore, SchemaStore, SourceStore } from '@hookstream/models';
import { type NatsHandle, openBucket, secretBoxFromEnv, topology } from '@hookstream/runtime';
import {
  type ClickHouseServer,
  connectTestNats,
  freePort,
  httpRequest,
  type NatsServer,
  startClickHouse,
  startEndpoint,
  startNatsServer,
  storedMessages,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { type ServiceProcess, startService } from '../e2e/processes.ts';

// Scenario: signed events with duplicates, forgeries and schema breaks flow
// while every service is killed with SIGKILL and restarted in turn,
// nats-server is killed and restarted on its store, ClickHouse is down for a
// while, and the subscriber answers 500s, 429s with Retry-After and hangs.
// Afterwards: nothing acknowledged to a sender is lost, every unique valid
// event is on events.* once and at the subscriber at least once, every bad
// one is in the DLQ with its reason, and ClickHouse agrees.
// CHAOS_EVENTS scales it (make chaos runs a longer form).

const EVENTS = Number(process.env.CHAOS_EVENTS ?? '100');
const SECRET = 'whsec_chaos_secret';
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MASTER_KEY = randomBytes(32).toString('base64');
const t = topology('chaos');
const STAGES = ['ingest', 'verify', 'dedup', 'validate', 'route', 'deliver', 'analytics'] as const;

type Kind = 'valid' | 'duplicate' | 'forged' | 'invalid';
interface Planned {
  readonly n: number;
  readonly kind: Kind;
  readonly providerId: string;
  readonly body: string;
}

/** The provider id (`$.id`) of a body. */
function bodyId(body: string): string {
  try {
    return String((JSON.parse(body) as { id?: unknown }).id);
  } catch {
    return '';
  }
}
const providerIdOf = (r: { body: Buffer }): string => bodyId(r.body.toString());

function plan(count: number): Planned[] {
  const out: Planned[] = [];
  for (let n = 0; n < count; n++) {
    const kind: Kind = n % 10 === 3 ? 'forged' : n % 10 === 7 ? 'invalid' : n % 5 === 4 && n > 10 ? 'duplicate' : 'valid';
    const providerId = kind === 'duplicate' ? `evt_${n - 4}` : `evt_${n}`;
    const body =
      kind === 'invalid'
        ? `{"id":"${providerId}","type":"payment_intent.succeeded"}`
        : `{"id":"${providerId}","type":"payment_intent.succeeded","data":{"object":{"n":${n}}}}`;
    out.push({ n, kind, providerId, body });
  }
  return out;
}

describe('chaos', () => {
  let nats: NatsServer;
  let clickhouse: ClickHouseServer;
  let client: NatsHandle;
  let jsm: JetStreamManager;
  let receiver: TestEndpoint;
  const services = new Map<string, ServiceProcess>();
  let ingestPort = 0;
  let env: Record<string, string>;

  const start = async (name: string): Promise<void> => {
    const extra: Record<string, Record<string, string>> = {
      ingest: { HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' },
      deliver: { HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32', HS_DELIVER_SCAN_INTERVAL_MS: '1000' },
      analytics: { HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: 'chaos' },
    };
    services.set(name, await startService(name, { ...env, ...extra[name] }));
  };

  before(async () => {
    [nats, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    client = await connectTestNats(nats.url);
    jsm = await jetstreamManager(client.nc);
    const box = secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY });
    await new SourceStore(await openBucket(client.nc, t.buckets.sources, { replicas: 1 }), box).put({
      id: 'stripe',
      provider: 'stripe',
      secrets: [{ id: 'k1', value: SECRET }],
    });
    await new SchemaStore(await openBucket(client.nc, t.buckets.schemas, { replicas: 1 })).put('stripe', 'payment_intent.succeeded', {
      type: 'object',
      required: ['id', 'type', 'data'],
    });
    // A subscriber that fails a share of requests in every way deliver must survive.
    receiver = await startEndpoint((_req, res, nth) => {
      const roll = nth % 13;
      if (roll === 1) res.writeHead(500).end('boom');
      else if (roll === 5) res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      else if (roll === 9)
        return; // hang past the timeout
      else res.writeHead(200).end('ok');
    });
    await new EndpointStore(await openBucket(client.nc, t.buckets.endpoints, { replicas: 1 }), box).put({
      id: 'sub',
      url: receiver.url,
      secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
      timeoutMs: 800,
      retry: { initialDelayMs: 200, maxDelayMs: 2_000 },
      circuit: { failureThreshold: 20, openMs: 1_000 },
    });
    ingestPort = await freePort();
    env = { HS_NATS_URL: nats.url, HS_NAMESPACE: 'chaos', HS_MASTER_KEY: MASTER_KEY, HS_LOG_LEVEL: 'error' };
    for (const name of STAGES) await start(name);
  });

  after(async () => {
    for (const s of services.values()) await s.kill();
    await receiver?.close();
    await client?.drain();
    await nats?.stop();
    await clickhouse?.stop();
  });

  /** POSTs like a real sender: retries on 5xx, 429 and connection errors until a 202 (or a 4xx). */
  async function send(p: Planned): Promise<string | undefined> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const secret = p.kind === 'forged' ? 'whsec_attacker' : SECRET;
      const headers = {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: p.body, secret, timestamp: Math.floor(Date.now() / 1000) }),
      };
      const res = await httpRequest({ port: ingestPort, path: '/v1/webhooks/stripe', method: 'POST', body: p.body, headers }).catch(
        () => undefined,
      );
      if (res?.status === 202) return (JSON.parse(res.body) as { id: string }).id;
      if (res !== undefined && res.status >= 400 && res.status < 500 && res.status !== 429) return undefined;
      // A sender's retry delay (the behaviour being imitated), not a wait for the system.
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`event ${p.n} never accepted`);
  }

  it('chaos: kill -9 of every service, a NATS restart and a ClickHouse outage lose nothing', { timeout: 240_000 }, async () => {
    const events = plan(EVENTS);
    const accepted = new Map<number, string>();
    let sent = 0;
    const sender = (async () => {
      for (const p of events) {
        const id = await send(p);
        if (id !== undefined) accepted.set(p.n, id);
        sent++;
        // Pacing: events keep flowing through every fault below.
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const progress = (share: number) => waitFor(`${share * 100}% sent`, () => (sent >= EVENTS * share ? true : undefined), 120_000, 20);

    // Faults, one after another while events flow. When deliver and
    // nats-server died: the windows in which a request may lose its row or
    // an ack, and so be repeated.
    const faultWindows: { what: string; from: number; to: number }[] = [];
    for (const [i, name] of STAGES.entries()) {
      await progress((i + 1) / (STAGES.length + 3));
      const killedAt = performance.now();
      await services.get(name)?.kill();
      if (name === 'deliver') faultWindows.push({ what: 'deliver killed', from: killedAt - 2_000, to: performance.now() });
      await start(name);
    }
    await progress((STAGES.length + 1) / (STAGES.length + 3));
    const natsKilledAt = performance.now();
    await nats.kill();
    // The fault itself: nats-server stays down for 1 s.
    await new Promise((r) => setTimeout(r, 1_000));
    await nats.restart();
    faultWindows.push({ what: 'nats-server killed', from: natsKilledAt - 2_000, to: performance.now() + 5_000 });
    await progress((STAGES.length + 2) / (STAGES.length + 3));
    await clickhouse.kill();
    // The fault itself: ClickHouse stays down for 5 s.
    await new Promise((r) => setTimeout(r, 5_000));
    await clickhouse.restart();
    await sender;

    const valid = events.filter((e) => e.kind === 'valid');
    // Quiescence: every stage's consumer has nothing pending or unacked.
    let lastSeen = '';
    await waitFor(
      'the pipeline to drain',
      async () => {
        lastSeen = '';
        for (const [stream, durable] of [
          [t.streams.raw, 'verify'],
          [t.streams.pipe, 'dedup'],
          [t.streams.pipe, 'validate'],
          [t.streams.pipe, 'route'],
          [t.streams.obs, 'analytics'],
        ] as const) {
          const info = await jsm.consumers.info(stream, durable);
          lastSeen += `${durable}: ${info.num_pending}/${info.num_ack_pending} `;
          if (info.num_pending + info.num_ack_pending > 0) return undefined;
        }
        // Deliver has a consumer per endpoint and one for retries.
        for await (const c of jsm.consumers.list(t.streams.delivery)) {
          lastSeen += `${c.name}: ${c.num_pending}/${c.num_ack_pending} `;
          if (c.num_pending + c.num_ack_pending > 0) return undefined;
        }
        const delivered = new Set(receiver.received.map(providerIdOf));
        const missing = valid.filter((e) => !delivered.has(e.providerId)).map((e) => e.n);
        lastSeen += `missing at the subscriber: ${missing.join(',')}`;
        return missing.length === 0 ? true : undefined;
      },
      150_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last seen: ${lastSeen}`);
    });

    // Nothing is left in the delivery work queue: tasks acked before the
    // NATS kill that its store brought back are swept by deliver.
    await waitFor(
      'the delivery stream to empty',
      async () => ((await jsm.streams.info(t.streams.delivery)).state.messages === 0 ? true : undefined),
      30_000,
      250,
    ).catch(async (err: unknown) => {
      const stored = (await storedMessages(jsm, t.streams.delivery)).map((m) => `${m.subject}@${m.seq}`);
      const consumers: string[] = [];
      for await (const c of jsm.consumers.list(t.streams.delivery)) {
        consumers.push(`${c.name} pending ${c.num_pending} unacked ${c.num_ack_pending} ack floor ${c.ack_floor.stream_seq}`);
      }
      throw new Error(`${(err as Error).message}: stored ${stored.join(' ')}; ${consumers.join('; ')}`);
    });

    // Every accepted event is in the raw archive: nothing acknowledged was lost.
    const raw = new Set((await storedMessages(jsm, t.streams.raw)).map((m) => m.header.get(Header.eventId)));
    for (const [n, id] of accepted) assert.ok(raw.has(id), `accepted event ${n} is archived`);

    // events.*: each unique valid provider id exactly once, and only those.
    const onEvents = (await storedMessages(jsm, t.streams.events)).map((m) => m.header.get(Header.idempotencyKey));
    const validIds = valid.map((e) => e.providerId);
    assert.deepEqual([...onEvents].sort(), [...validIds].sort(), 'events.* holds each valid provider id once');

    // The subscriber: each valid event at least once, and only under one
    // event id (a sender's retry of an accepted event is a duplicate, not a
    // second event); report repeats.
    const byProvider = new Map<string, Set<string>>();
    const requestsPerEvent = new Map<string, number>();
    for (const r of receiver.received) {
      const pid = providerIdOf(r);
      byProvider.set(pid, (byProvider.get(pid) ?? new Set()).add(String(r.headers['webhook-id'])));
      requestsPerEvent.set(pid, (requestsPerEvent.get(pid) ?? 0) + 1);
    }
    for (const e of valid) {
      assert.equal(byProvider.get(e.providerId)?.size, 1, `${e.providerId} reached the subscriber under one event id`);
    }
    assert.deepEqual([...byProvider.keys()].sort(), [...validIds].sort(), 'nothing else reached the subscriber');
    const repeats = [...requestsPerEvent.values()].filter((c) => c > 1).length;
    // Duplicate deliveries: an event the subscriber answered 2xx more than
    // once (the responder's 200s: every request whose number is not 1, 5 or
    // 9 mod 13). Each must be explained: its first 2xx came inside a window
    // in which deliver or nats-server died (the marker or the ack lost).
    const inWindow = (at: number) => faultWindows.find((w) => at >= w.from && at <= w.to)?.what;
    const firstOk = new Map<string, number>();
    const doubled: { id: string; first: number; why: string | undefined }[] = [];
    receiver.received.forEach((r, i) => {
      if ([1, 5, 9].includes((i + 1) % 13)) return;
      const pid = providerIdOf(r);
      const first = firstOk.get(pid);
      if (first === undefined) firstOk.set(pid, r.at);
      else doubled.push({ id: pid, first, why: inWindow(first) });
    });
    assert.deepEqual(
      doubled.filter((d) => d.why === undefined).map((d) => d.id),
      [],
      'every event the subscriber accepted twice had its first 2xx while deliver or nats-server died',
    );
    console.log(
      `chaos: ${EVENTS} events, ${accepted.size} accepted, ${valid.length} valid delivered, ${receiver.received.length} requests at the subscriber, ${repeats} events seen more than once there (retries after 500/429/timeouts, and kills), ${doubled.length} accepted twice (${doubled.map((d) => `${d.id}: ${d.why}`).join(', ') || 'none'}), each under one webhook-id`,
    );

    // Dead letters: every forgery and every schema break, with its reason.
    const dlq = await storedMessages(jsm, t.streams.dlq);
    const reasonOf = (id: string) => dlq.find((m) => m.header.get(Header.eventId) === id)?.header.get(Header.dlqReason);
    for (const e of events.filter((x) => x.kind === 'forged'))
      assert.equal(reasonOf(accepted.get(e.n) ?? '?'), 'bad_signature', `forged ${e.n}`);
    for (const e of events.filter((x) => x.kind === 'invalid'))
      assert.equal(reasonOf(accepted.get(e.n) ?? '?'), 'schema_violation', `invalid ${e.n}`);

    // ClickHouse agrees with what happened (after its outage), once per fact.
    const count = async (sql: string) => Number((await clickhouse.query(sql)).trim());
    await waitFor(
      'ClickHouse rows',
      async () =>
        (await count("SELECT uniqExact(event_id) FROM chaos.delivery_attempts FINAL WHERE outcome = 'success'")) === valid.length
          ? true
          : undefined,
      60_000,
      500,
    );
    assert.equal(
      await count("SELECT count() FROM chaos.rejections FINAL WHERE reason = 'bad_signature'"),
      events.filter((e) => e.kind === 'forged').length,
    );
    assert.equal(
      await count("SELECT count() FROM chaos.schema_failures FINAL WHERE reason = 'schema_violation'"),
      events.filter((e) => e.kind === 'invalid').length,
    );
    assert.ok((await count('SELECT count() FROM chaos.duplicates FINAL')) >= events.filter((e) => e.kind === 'duplicate').length);

    // Every real HTTP request is a row of its own (its hookstream-request-id
    // ends the row id), except one made just before deliver or nats-server
    // died, whose record went with it.
    const requestIds = receiver.received.map((r) => ({ id: String(r.headers['hookstream-request-id']), at: r.at }));
    let unrecorded: typeof requestIds = [];
    await waitFor(
      'a ClickHouse row for every request',
      async () => {
        const rows = (await clickhouse.query('SELECT row_id FROM chaos.delivery_attempts FINAL')).trim().split('\n');
        const recorded = new Set(rows.map((row) => row.slice(row.lastIndexOf(':') + 1)));
        unrecorded = requestIds.filter((r) => !recorded.has(r.id));
        return unrecorded.every((r) => inWindow(r.at) !== undefined) ? true : undefined;
      },
      30_000,
      500,
    ).catch(() => undefined);
    assert.deepEqual(
      unrecorded.filter((r) => inWindow(r.at) === undefined).map((r) => r.id),
      [],
      'every request has its row in delivery_attempts',
    );
    console.log(
      `chaos: ${requestIds.length} requests, ${requestIds.length - unrecorded.length} with their row, ${unrecorded.length} without (made as deliver or nats-server died)`,
    );

    // Nothing processed is left in a hand-off (work-queue) stream once drained.
    for (const stream of [t.streams.pipe, t.streams.delivery, t.streams.obs]) {
      await waitFor(
        `${stream} to empty`,
        async () => ((await jsm.streams.info(stream)).state.messages === 0 ? true : undefined),
        30_000,
        250,
      );
    }
  });
});
