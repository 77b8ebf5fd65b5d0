import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats, createLogger, ensureStreams, type NatsHandle, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { type NatsCluster, startNatsCluster } from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { TopologyError } from '../src/errors.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** A client that knows every node, as a service given a comma-separated HS_NATS_URL. */
function connectCluster(cluster: NatsCluster): Promise<NatsHandle> {
  return connectNats(
    { natsServers: cluster.urls, natsUser: undefined, natsPassword: undefined, natsToken: undefined, service: 'test' },
    logger,
  );
}

/** Every stream of the namespace: its replica count and whether it has a leader. */
async function replicasOf(jsm: JetStreamManager, namespace: string): Promise<Record<string, { replicas: number; leader: boolean }>> {
  const out: Record<string, { replicas: number; leader: boolean }> = {};
  for (const c of streamConfigs(topology(namespace), { replicas: 3, eventsMaxAgeHours: 1 })) {
    const info = await jsm.streams.info(c.name);
    out[c.name] = { replicas: info.config.num_replicas, leader: (info.cluster?.leader ?? '') !== '' };
  }
  return out;
}

const allR3 = (namespace: string) =>
  Object.fromEntries(
    streamConfigs(topology(namespace), { replicas: 3, eventsMaxAgeHours: 1 }).map((c) => [c.name, { replicas: 3, leader: true }]),
  );

// Scenario: services start together with the nats-servers (a fresh Helm
// install): the first JetStream requests time out or answer 503 while the
// meta group elects its leader. ensureStreams and openBucket wait for it.
describe('streams on a cluster that is still forming', () => {
  let cluster: NatsCluster;
  let nats: NatsHandle;

  before(async () => {
    cluster = await startNatsCluster({ ready: 'listening' });
    nats = await connectCluster(cluster);
  });

  after(async () => {
    await nats?.drain();
    await cluster?.stop();
  });

  it('streams: ensureStreams right after the nodes start creates every stream with three replicas', async () => {
    const jsm = await jetstreamManager(nats.nc, { checkAPI: false });
    await ensureStreams(jsm, streamConfigs(topology('fresh'), { replicas: 3, eventsMaxAgeHours: 1 }));
    assert.deepEqual(await replicasOf(jsm, 'fresh'), allR3('fresh'));
    const kv = await openBucket(nats.nc, 'fresh_kv', { replicas: 3 });
    assert.equal((await kv.status()).streamInfo.config.num_replicas, 3);
  });
});

describe('streams on a cluster with nodes down', () => {
  let cluster: NatsCluster;
  let nats: NatsHandle;
  let jsm: JetStreamManager;

  before(async () => {
    cluster = await startNatsCluster();
    nats = await connectCluster(cluster);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    await nats?.drain();
    await cluster?.stop();
  });

  /** Brings every killed node back and waits for one healthy cluster (each test leaves it whole). */
  async function heal(): Promise<void> {
    for (const node of cluster.nodes) if (!node.running) await cluster.restart(node, { waitHealthy: false });
    await cluster.waitFormed();
  }

  // Scenario: one node of three is down (a rolling restart, a lost pod);
  // the two others keep quorum. Existing R3 streams pass, new ones are
  // created (with the node back, once it returns) and a bucket opened.
  it('streams: with one node of three down ensureStreams and openBucket succeed', async () => {
    try {
      await ensureStreams(jsm, streamConfigs(topology('one'), { replicas: 3, eventsMaxAgeHours: 1 }));
      const down = await cluster.streamLeader('one_HS_RAW');
      await cluster.kill(down);
      await ensureStreams(jsm, streamConfigs(topology('one'), { replicas: 3, eventsMaxAgeHours: 2 }));
      const ensured = ensureStreams(jsm, streamConfigs(topology('two'), { replicas: 3, eventsMaxAgeHours: 1 }));
      const opened = openBucket(nats.nc, 'one_kv', { replicas: 3 });
      // Placement may need the third peer: bring it back while they retry.
      const restarted = cluster.restart(down, { waitHealthy: false });
      await Promise.all([ensured, opened, restarted]);
      assert.deepEqual(await replicasOf(jsm, 'one'), allR3('one'));
      assert.deepEqual(await replicasOf(jsm, 'two'), allR3('two'));
      assert.equal((await jsm.streams.info('one_HS_EVENTS')).config.max_age, 2 * 3_600_000 * 1_000_000, 'the update was applied');
      assert.equal((await (await opened).status()).streamInfo.config.num_replicas, 3);
    } finally {
      await heal();
    }
  });

  // Scenario: two nodes of three are down: no quorum, no meta leader.
  // ensureStreams retries within its bound, then names the stream and what
  // JetStream last said.
  it('streams: without quorum ensureStreams fails after its bound with a TopologyError naming the stream', async () => {
    try {
      const [a, b] = cluster.nodes;
      if (a === undefined || b === undefined) throw new Error('a cluster of three');
      await cluster.kill(a);
      await cluster.kill(b);
      const retries: string[] = [];
      const err = await ensureStreams(jsm, streamConfigs(topology('noq'), { replicas: 3, eventsMaxAgeHours: 1 }), {
        retryForMs: 8_000,
        onRetry: ({ what, error }) => retries.push(`${what}: ${error.message}`),
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TopologyError, `a TopologyError, got ${String(err)}`);
      assert.match(err.message, /^cannot create or update stream noq_HS_RAW: JetStream did not become available within \d+ ms/);
      assert.match(err.message, /last error: /);
      assert.ok(retries.length >= 1, 'it retried before giving up');
      assert.ok(
        retries.every((r) => r.startsWith('stream noq_HS_RAW: ')),
        retries.join('; '),
      );
      const bucketErr = await openBucket(nats.nc, 'noq_kv', { replicas: 3, retryForMs: 2_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(bucketErr instanceof TopologyError, `a TopologyError, got ${String(bucketErr)}`);
      assert.match(bucketErr.message, /^cannot create or update bucket noq_kv: /);
    } finally {
      await heal();
    }
  });

  // Scenario: a bucket made with one replica (before HS_STREAM_REPLICAS was
  // set to 3) is brought to three when a service opens it.
  it('kv: openBucket brings an existing bucket to the configured replica count', async () => {
    await openBucket(nats.nc, 'grow_kv', { replicas: 1 });
    const kv = await openBucket(nats.nc, 'grow_kv', { replicas: 3 });
    assert.equal((await kv.status()).streamInfo.config.num_replicas, 3);
  });
});
