import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { EndpointStore, SchemaStore, SourceStore } from '@hookstream/models';
import { connectNats, createLogger, type NatsHandle, openBucket, secretBoxFromEnv, topology } from '@hookstream/runtime';
import {
  type ClickHouseServer,
  freePort,
  type HttpAnswer,
  httpRequest,
  type NatsCluster,
  type NatsClusterNode,
  startClickHouse,
  startEndpoint,
  startNatsCluster,
  storedMessages,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { type ServiceProcess, startService } from '../e2e/processes.ts';

// Scenario: hookstream on a 3-node JetStream cluster with R3 streams, as
// users run it from the official NATS Helm chart; every service is given all
// three URLs. Signed events with duplicates, forgeries and schema breaks
// flow while, in turn, the meta leader, the leader of the raw stream and the
// leader of the delivery stream are killed with SIGKILL and restarted on
// their stores, one node is frozen for 10 s, and two of three nodes are down
// at once (no quorum). No service is restarted by the test. Afterwards:
// every 202 is archived, ingest answered 503 + Retry-After (never 202) while
// there was no quorum, each valid event is on events.* once and reached the
// subscriber under one webhook-id, every bad one is dead-lettered with its
// reason, the hand-off queues are empty, every service stayed up and
// reconnected, and fresh events are delivered within 30 s.
// CHAOS_EVENTS scales it (make chaos runs a longer form).

const EVENTS = Number(process.env.CHAOS_EVENTS ?? '80');
const SECRET = 'whsec_cluster_chaos';
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MASTER_KEY = randomBytes(32).toString('base64');
const NAMESPACE = 'cchaos';
const t = topology(NAMESPACE);
const STAGES = ['ingest', 'verify', 'dedup', 'validate', 'route', 'deliver', 'analytics'] as const;
/** How long fresh events posted after every fault may take to reach the subscriber. */
const FRESH_BOUND_MS = 30_000;
const FRESH_EVENTS = 10;
const logger = createLogger({ service: 'test', level: 'silent' });

type Kind = 'valid' | 'duplicate' | 'forged' | 'invalid';
interface Planned {
  readonly label: string;
  readonly kind: Kind;
  readonly providerId: string;
  readonly body: string;
}

/** One HTTP exchange with ingest, as the sender saw it. */
interface Attempt {
  readonly label: string;
  /** What the cluster was going through when the request was sent. */
  readonly phase: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** 0 for a socket error. */
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly error?: string;
}

/** The provider id (`$.id`) of a body. */
function bodyId(body: string): string {
  try {
    return String((JSON.parse(body) as { id?: unknown }).id);
  } catch {
    return '';
  }
}

function validEvent(providerId: string, label: string): Planned {
  return { label, kind: 'valid', providerId, body: `{"id":"${providerId}","type":"payment_intent.succeeded","data":{"object":{}}}` };
}

function plan(count: number): Planned[] {
  const out: Planned[] = [];
  for (let n = 0; n < count; n++) {
    const kind: Kind = n % 10 === 3 ? 'forged' : n % 10 === 7 ? 'invalid' : n % 5 === 4 && n > 10 ? 'duplicate' : 'valid';
    const providerId = kind === 'duplicate' ? `evt_${n - 4}` : `evt_${n}`;
    const body =
      kind === 'invalid'
        ? `{"id":"${providerId}","type":"payment_intent.succeeded"}`
        : `{"id":"${providerId}","type":"payment_intent.succeeded","data":{"object":{"n":${n}}}}`;
    out.push({ label: String(n), kind, providerId, body });
  }
  return out;
}

describe('cluster chaos', () => {
  let cluster: NatsCluster;
  let clickhouse: ClickHouseServer;
  let client: NatsHandle;
  let jsm: JetStreamManager;
  let receiver: TestEndpoint;
  const services = new Map<string, ServiceProcess>();
  /** Every exchange with ingest. */
  const attempts: Attempt[] = [];
  /** What the cluster is going through now (attempts and subscriber requests are tagged with it). */
  let phase = 'warm-up';
  /** The phase each request to the subscriber arrived in (by index in `receiver.received`). */
  const receivedIn: string[] = [];
  let ingestPort = 0;

  before(async () => {
    [cluster, clickhouse] = await Promise.all([startNatsCluster({ size: 3 }), startClickHouse()]);
    client = await connectNats(
      { natsServers: cluster.urls, natsUser: undefined, natsPassword: undefined, natsToken: undefined, service: 'chaos-test' },
      logger,
    );
    jsm = await jetstreamManager(client.nc);
    const box = secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY });
    // A new R3 bucket can answer "no responders" to its first write for a
    // moment (its leader's interest is still spreading over the routes).
    const stored = (what: string, write: () => Promise<unknown>) => waitFor(what, () => write().then(() => true), 15_000, 100);
    const sources = new SourceStore(await openBucket(client.nc, t.buckets.sources, { replicas: 3 }), box);
    await stored('the source', () => sources.put({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: SECRET }] }));
    const schemas = new SchemaStore(await openBucket(client.nc, t.buckets.schemas, { replicas: 3 }));
    await stored('the schema', () =>
      schemas.put('stripe', 'payment_intent.succeeded', { type: 'object', required: ['id', 'type', 'data'] }),
    );
    // The subscriber always answers 200: every repeat it sees comes from the cluster's faults.
    receiver = await startEndpoint((_req, res) => {
      receivedIn.push(phase);
      res.end('ok');
    });
    const endpoints = new EndpointStore(await openBucket(client.nc, t.buckets.endpoints, { replicas: 3 }), box);
    await stored('the endpoint', () =>
      endpoints.put({
        id: 'sub',
        url: receiver.url,
        secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
        timeoutMs: 2_000,
        retry: { initialDelayMs: 200, maxDelayMs: 2_000 },
        circuit: { failureThreshold: 20, openMs: 1_000 },
      }),
    );
    ingestPort = await freePort();
    const env = {
      HS_NATS_URL: cluster.urls.join(','),
      HS_STREAM_REPLICAS: '3',
      HS_NAMESPACE: NAMESPACE,
      HS_MASTER_KEY: MASTER_KEY,
      HS_LOG_LEVEL: 'error',
    };
    const extra: Record<string, Record<string, string>> = {
      ingest: { HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' },
      deliver: { HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32', HS_DELIVER_SCAN_INTERVAL_MS: '1000' },
      analytics: { HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: NAMESPACE },
    };
    for (const name of STAGES) services.set(name, await startService(name, { ...env, ...extra[name] }));
  });

  after(async () => {
    for (const s of services.values()) await s.kill();
    await receiver?.close();
    await client?.drain();
    await cluster?.stop();
    await clickhouse?.stop();
  });

  /** POSTs like a real sender: retries 5xx, 429 and socket errors until a 202 (or another 4xx); records every exchange. */
  async function send(p: Planned, deadlineMs = 180_000): Promise<string | undefined> {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const secret = p.kind === 'forged' ? 'whsec_attacker' : SECRET;
      const headers = {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: p.body, secret, timestamp: Math.floor(Date.now() / 1000) }),
      };
      const startedAt = Date.now();
      const res: HttpAnswer & { error?: string } = await httpRequest({
        port: ingestPort,
        path: '/v1/webhooks/stripe',
        method: 'POST',
        body: p.body,
        headers,
      }).catch((err: unknown) => ({ status: 0, headers: {}, body: '', error: (err as Error).message }));
      const retryAfter = res.headers['retry-after'];
      attempts.push({
        label: p.label,
        phase,
        startedAt,
        endedAt: Date.now(),
        status: res.status,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
        ...(res.error !== undefined ? { error: res.error } : {}),
      });
      if (res.status === 202) return (JSON.parse(res.body) as { id: string }).id;
      if (res.status >= 400 && res.status < 500 && res.status !== 429) return undefined;
      // A sender's retry delay (the behaviour being imitated), not a wait for the system.
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`event ${p.label} never accepted`);
  }

  it('cluster chaos: leader kills, a frozen node and lost quorum on a 3-node R3 cluster lose nothing', {
    timeout: 240_000 + EVENTS * 500,
  }, async () => {
    const events = plan(EVENTS);
    const accepted = new Map<string, string>();
    const probes: Planned[] = [];
    const faults: string[] = [];

    // The sender posts events one after another, but only up to `allowed`:
    // the fault schedule below lets each share flow while a fault is on.
    let allowed = 0;
    let sent = 0;
    const sender = (async () => {
      for (const p of events) {
        while (sent >= allowed) await new Promise((r) => setTimeout(r, 20));
        const id = await send(p);
        if (id !== undefined) accepted.set(p.label, id);
        sent++;
        // Pacing: events keep flowing while each fault is on.
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const flow = async (share: number): Promise<void> => {
      allowed = Math.min(EVENTS, allowed + Math.max(1, Math.round(EVENTS * share)));
      const target = allowed;
      await waitFor(`${target} events sent`, () => (sent >= target ? true : undefined), 180_000, 20);
    };
    const killAndRestart = async (what: string, find: () => Promise<NatsClusterNode>, share: number): Promise<void> => {
      const node = await find();
      faults.push(`${what}: ${node.name}`);
      phase = `${what} killed`;
      await cluster.kill(node);
      await flow(share / 2); // while it is down (and its successor is elected)
      phase = `${what} restarting`;
      const restarted = cluster.restart(node);
      await flow(share / 2); // while it comes back and catches up
      await restarted;
    };

    await flow(0.1);
    await killAndRestart('meta leader', () => cluster.metaLeader(), 0.15);
    await killAndRestart('raw stream leader', () => cluster.streamLeader(t.streams.raw), 0.15);
    await killAndRestart('delivery stream leader', () => cluster.streamLeader(t.streams.delivery), 0.15);

    // A node paused for 10 s (a partition, a long stall): the raw stream's leader.
    const frozen = await cluster.streamLeader(t.streams.raw);
    faults.push(`frozen 10 s: ${frozen.name}`);
    phase = 'raw stream leader frozen';
    const thawed = cluster.freeze(frozen, 10_000);
    await flow(0.15);
    await thawed;
    phase = 'thawed';
    await cluster.waitFormed();

    // No quorum: two of three nodes down. Ingest must not answer 202 to any
    // request it could not make durable. A second sender posts fresh valid
    // events (probes) so that enough requests fall in the window.
    // The raw stream's leader is the one left: stranded, it can append to its
    // log but commit nothing, the case where a 202 would be a lie.
    const stranded = await cluster.streamLeader(t.streams.raw);
    const [downA, downB] = cluster.nodes.filter((n) => n !== stranded);
    if (downA === undefined || downB === undefined) throw new Error('a cluster of three');
    await cluster.kill(downA);
    await cluster.kill(downB);
    faults.push(`no quorum: ${downA.name} and ${downB.name} down, ${stranded.name} (raw stream leader) alone`);
    phase = 'no quorum';
    const lostAt = Date.now();
    let probing = true;
    const prober = (async () => {
      for (let i = 0; probing; i++) {
        const probe = validEvent(`evt_q${i}`, `q${i}`);
        probes.push(probe);
        const id = await send(probe);
        if (id !== undefined) accepted.set(probe.label, id);
      }
    })();
    allowed = Math.min(EVENTS, allowed + Math.max(1, Math.round(EVENTS * 0.1)));
    const inWindow = (from: number, until: number) => attempts.filter((a) => a.startedAt >= from && a.endedAt <= until);
    // Hold it until ingest is connected to the surviving node (its /readyz)
    // and has answered 8 requests from there: those went to JetStream.
    const ingestHealth = services.get('ingest')?.healthPort ?? 0;
    let reconnectedAt: number | undefined;
    await waitFor(
      'ingest to answer 8 requests on the surviving node without quorum',
      async () => {
        if (reconnectedAt === undefined) {
          if ((await httpRequest({ port: ingestHealth, path: '/readyz' })).status === 200) reconnectedAt = Date.now();
          return undefined;
        }
        return inWindow(reconnectedAt, Date.now()).length >= 8 ? true : undefined;
      },
      60_000,
      50,
    );
    const restoredAt = Date.now();
    phase = 'quorum restoring';
    probing = false; // the probe under way is retried until accepted
    await cluster.restart(downA, { waitHealthy: false });
    await cluster.restart(downB, { waitHealthy: false });
    await cluster.waitFormed(60_000);
    await prober;
    const noQuorum = inWindow(lostAt, restoredAt);

    // The rest flows on the healed cluster.
    phase = 'healed';
    allowed = EVENTS;
    await sender;

    const valid = [...events.filter((e) => e.kind === 'valid'), ...probes];
    // Quiescence: every stage's consumer has nothing pending or unacked, and every valid event reached the subscriber.
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
        for await (const c of jsm.consumers.list(t.streams.delivery)) {
          lastSeen += `${c.name}: ${c.num_pending}/${c.num_ack_pending} `;
          if (c.num_pending + c.num_ack_pending > 0) return undefined;
        }
        const delivered = new Set(receiver.received.map((r) => bodyId(r.body.toString())));
        const missing = valid.filter((e) => !delivered.has(e.providerId)).map((e) => e.label);
        lastSeen += `missing at the subscriber: ${missing.join(',')}`;
        return missing.length === 0 ? true : undefined;
      },
      150_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last seen: ${lastSeen}; faults: ${faults.join('; ')}`);
    });

    // The hand-off work queues are empty once drained.
    let queues = '';
    await waitFor(
      'the work-queue streams to empty',
      async () => {
        const counts = await Promise.all(
          [t.streams.pipe, t.streams.delivery, t.streams.obs].map(async (s) => [s, (await jsm.streams.info(s)).state.messages] as const),
        );
        queues = counts.map(([s, n]) => `${s}=${n}`).join(' ');
        return counts.every(([, n]) => n === 0) ? true : undefined;
      },
      30_000,
      250,
    ).catch(async (err: unknown) => {
      const stored = (await storedMessages(jsm, t.streams.delivery)).map((m) => `${m.subject}@${m.seq}`);
      throw new Error(`${(err as Error).message}: ${queues}; delivery holds ${stored.join(' ')}`);
    });

    // Nothing is forced to one replica: every stream and KV bucket of the
    // namespace is R3, and every durable consumer inherits it (3 peers).
    const notR3: string[] = [];
    let consumerCount = 0;
    for await (const s of jsm.streams.list()) {
      const name = s.config.name;
      if (!name.startsWith(`${NAMESPACE}_`) && !name.startsWith(`KV_${NAMESPACE}_`)) continue;
      if (s.config.num_replicas !== 3) notR3.push(`stream ${name}: R${s.config.num_replicas}`);
      for await (const c of jsm.consumers.list(name)) {
        // KV watches are ephemeral ordered consumers, R1 by design.
        if (c.config.durable_name === undefined) continue;
        consumerCount++;
        const peers = 1 + (c.cluster?.replicas?.length ?? 0);
        if (peers !== 3) notR3.push(`consumer ${name}/${c.name}: ${peers} peers (num_replicas ${c.config.num_replicas ?? 0})`);
      }
    }
    assert.deepEqual(notR3, [], 'streams, buckets and consumers are all R3');
    assert.ok(consumerCount >= 6, `durable consumers checked: ${consumerCount}`);
    console.log(`replicas: every ${NAMESPACE} stream and bucket is R3; ${consumerCount} durable consumers with 3 peers each`);

    // Every response ingest gave: 202 or 503 with Retry-After, nothing else.
    const byStatus = new Map<number, number>();
    for (const a of attempts) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    const unexpected = attempts.filter((a) => a.status !== 202 && !(a.status === 503 && a.retryAfter !== undefined));
    assert.deepEqual(
      unexpected.map((a) => `${a.label}: ${a.status} ${a.error ?? ''}`),
      [],
      'ingest answered only 202, or 503 with Retry-After',
    );
    // Without quorum: never 202.
    assert.ok(noQuorum.length >= 6, `requests answered while there was no quorum: ${noQuorum.length}`);
    assert.deepEqual(
      noQuorum.filter((a) => a.status !== 503 || a.retryAfter === undefined).map((a) => `${a.label}: ${a.status}`),
      [],
      'every request answered while there was no quorum got 503 with Retry-After',
    );

    // Every 202 is in the raw archive: nothing acknowledged was lost.
    const raw = new Set((await storedMessages(jsm, t.streams.raw)).map((m) => m.header.get(Header.eventId)));
    const lost = [...accepted].filter(([, id]) => !raw.has(id)).map(([label]) => label);
    assert.deepEqual(lost, [], 'every accepted event is archived');

    // events.*: each valid provider id exactly once, and only those.
    const onEvents = (await storedMessages(jsm, t.streams.events)).map((m) => m.header.get(Header.idempotencyKey));
    const validIds = valid.map((e) => e.providerId);
    assert.deepEqual([...onEvents].sort(), [...validIds].sort(), 'events.* holds each valid provider id once');

    // The subscriber: every valid event, each under one webhook-id (a repeat is the same event again).
    const webhookIds = new Map<string, Set<string>>();
    const requests = new Map<string, number>();
    for (const r of receiver.received) {
      const pid = bodyId(r.body.toString());
      webhookIds.set(pid, (webhookIds.get(pid) ?? new Set()).add(String(r.headers['webhook-id'])));
      requests.set(pid, (requests.get(pid) ?? 0) + 1);
    }
    const splitIds = valid.filter((e) => webhookIds.get(e.providerId)?.size !== 1).map((e) => e.providerId);
    assert.deepEqual(splitIds, [], 'each valid event reached the subscriber under exactly one webhook-id');
    assert.deepEqual([...webhookIds.keys()].sort(), [...validIds].sort(), 'nothing else reached the subscriber');
    const repeated = [...requests].filter(([, c]) => c > 1);
    const repeatPhases = new Map<string, number>();
    const seenOnce = new Map<string, string>();
    // Each repeat is explained: its first copy reached the subscriber while a
    // fault was under way (a node killed or frozen, or no quorum), when a
    // marker or an ack can be lost with the node that held it — never in
    // the warm-up or once the cluster had healed.
    const unexplained: string[] = [];
    receiver.received.forEach((r, i) => {
      const pid = bodyId(r.body.toString());
      const firstIn = seenOnce.get(pid);
      if (firstIn !== undefined) {
        repeatPhases.set(receivedIn[i] ?? '?', (repeatPhases.get(receivedIn[i] ?? '?') ?? 0) + 1);
        if (firstIn === 'warm-up' || firstIn === 'healed') unexplained.push(`${pid} (first copy during ${firstIn})`);
      } else {
        seenOnce.set(pid, receivedIn[i] ?? '?');
      }
    });
    assert.deepEqual(unexplained, [], 'every repeat at the subscriber had its first copy delivered during a fault');

    // Dead letters: every forgery and every schema break, with its reason.
    const dlq = await storedMessages(jsm, t.streams.dlq);
    const reasonOf = (id: string | undefined) => dlq.find((m) => m.header.get(Header.eventId) === id)?.header.get(Header.dlqReason);
    const wrongDlq = [
      ...events.filter((e) => e.kind === 'forged' && reasonOf(accepted.get(e.label)) !== 'bad_signature'),
      ...events.filter((e) => e.kind === 'invalid' && reasonOf(accepted.get(e.label)) !== 'schema_violation'),
    ].map((e) => `${e.kind} ${e.label}: ${reasonOf(accepted.get(e.label)) ?? 'not in the DLQ'}`);
    assert.deepEqual(wrongDlq, [], 'every forgery and schema break is dead-lettered with its reason');

    // Every service stayed up (the test restarted none), is ready, and has a connection on some node.
    const clients = new Set<string>();
    for (const node of cluster.nodes) {
      const connz = (await node.monitor('/connz?limit=4096'))?.body as { connections?: { name?: string }[] } | undefined;
      for (const c of connz?.connections ?? []) if (c.name !== undefined) clients.add(c.name);
    }
    for (const [name, s] of services) {
      assert.equal(s.child.exitCode, null, `${name} did not exit`);
      assert.equal(s.child.signalCode, null, `${name} was not killed`);
      for (const path of ['/healthz', '/readyz']) {
        const res = await httpRequest({ port: s.healthPort, path });
        assert.equal(res.status, 200, `${name} ${path}: ${res.body}`);
      }
      assert.ok(clients.has(`hookstream-${name}`), `${name} is connected to the cluster again`);
    }

    // Fresh events after every fault are delivered within the bound.
    const fresh = Array.from({ length: FRESH_EVENTS }, (_, i) => validEvent(`evt_fresh${i}`, `fresh${i}`));
    phase = 'fresh';
    const freshStart = performance.now();
    for (const e of fresh) assert.notEqual(await send(e, FRESH_BOUND_MS), undefined, `fresh ${e.label} accepted`);
    const freshMs = await waitFor(
      'fresh events at the subscriber',
      () => {
        const got = new Map(receiver.received.map((r) => [bodyId(r.body.toString()), r.at]));
        const times = fresh.map((e) => got.get(e.providerId));
        return times.every((at) => at !== undefined) ? Math.max(...(times as number[])) - freshStart : undefined;
      },
      FRESH_BOUND_MS,
      50,
    );

    // Per phase: answers, and the longest an event waited for its 202 (from its first attempt).
    const firstTry = new Map<string, Attempt>();
    const waited = new Map<string, number>();
    for (const a of attempts) {
      if (!firstTry.has(a.label)) firstTry.set(a.label, a);
      const first = firstTry.get(a.label) as Attempt;
      if (a.status === 202) waited.set(first.phase, Math.max(waited.get(first.phase) ?? 0, a.endedAt - first.startedAt));
    }
    const phases = [...new Set(attempts.map((a) => a.phase))].map((ph) => {
      const here = attempts.filter((a) => a.phase === ph);
      const codes = [...new Set(here.map((a) => a.status))].map((c) => `${c}×${here.filter((a) => a.status === c).length}`);
      return `  ${ph}: ${codes.join(' ')}; longest wait for a 202 ${waited.get(ph) ?? '-'} ms`;
    });
    // What deliver counted (its request outcomes, suppressed repeats, consumer recoveries), for the report.
    const deliverMetrics = (await httpRequest({ port: services.get('deliver')?.healthPort ?? 0, path: '/metrics' })).body
      .split('\n')
      .filter((l) => /^hookstream_(delivery_attempts|delivery_suppressed|consumer_recoveries|stage_messages)/.test(l))
      .join('\n  ');
    const slow503 = noQuorum.filter((a) => a.endedAt - a.startedAt >= 1_000).length;
    const totals = new Map<string, number>();
    for (const r of receiver.received) totals.set(bodyId(r.body.toString()), (totals.get(bodyId(r.body.toString())) ?? 0) + 1);
    console.log(
      [
        `cluster chaos: ${events.length} planned events + ${probes.length} probes during no quorum + ${fresh.length} fresh`,
        `faults: ${faults.join('; ')}`,
        `ingest answers: ${[...byStatus].map(([st, n]) => `${st}×${n}`).join(', ')} (${attempts.length} requests; ${accepted.size} events accepted before the fresh ones)`,
        ...phases,
        `no quorum for ${restoredAt - lostAt} ms: ${noQuorum.length} requests answered inside it, all 503 + Retry-After (${slow503} after waiting >= 1 s for a PubAck)`,
        `subscriber (before the fresh events): ${[...requests.values()].reduce((x, y) => x + y, 0)} requests for ${webhookIds.size} events; ${repeated.length} events received more than once (${repeated.map(([id, c]) => `${id}×${c}`).join(', ') || 'none'}), each under one webhook-id; repeats arrived during: ${[...repeatPhases].map(([ph, n]) => `${ph} ×${n}`).join(', ') || '-'}`,
        `subscriber in all: ${receiver.received.length} requests for ${totals.size} events`,
        `fresh events: ${fresh.length} delivered ${Math.round(freshMs)} ms after the first was posted`,
        `deliver's metrics:\n  ${deliverMetrics}`,
      ].join('\n'),
    );
  });
});
