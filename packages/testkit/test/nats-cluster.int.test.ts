import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats, createLogger, type NatsHandle } from '@hookstream/runtime';
import { type NatsCluster, startNatsCluster, waitFor } from '@hookstream/testkit';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';

/** A client that knows every node, as a service given a comma-separated HS_NATS_URL. */
function connectCluster(cluster: NatsCluster): Promise<NatsHandle> {
  return connectNats(
    { natsServers: cluster.urls, natsUser: undefined, natsPassword: undefined, natsToken: undefined, service: 'test' },
    createLogger({ service: 'test', level: 'silent' }),
  );
}

/** Publishes until JetStream acknowledges (a client's retry across a leader election). */
async function publishAcked(js: JetStreamClient, subject: string, data: string): Promise<void> {
  await waitFor(`an ack for ${data}`, () => js.publish(subject, data, { msgID: data, timeout: 2_000 }).then(() => true), 30_000, 100);
}

describe('testkit nats cluster', () => {
  let cluster: NatsCluster;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  before(async () => {
    cluster = await startNatsCluster();
    nats = await connectCluster(cluster);
    jsm = await jetstreamManager(nats.nc);
    js = jetstream(nats.nc);
  });

  after(async () => {
    await nats?.drain();
    await cluster?.stop();
  });

  it('testkit: three nats-servers form one JetStream cluster with a meta leader', async () => {
    assert.equal(cluster.nodes.length, 3);
    assert.equal(new Set(cluster.urls).size, 3);
    const ports = cluster.nodes.flatMap((n) => [n.port, n.clusterPort, n.httpPort]);
    assert.equal(new Set(ports).size, 9, 'client, route and monitoring ports are all distinct');
    const leader = await cluster.metaLeader();
    assert.ok(cluster.nodes.includes(leader));
    for (const node of cluster.nodes) {
      assert.equal(await node.healthy(), true, `${node.name} is healthy`);
      assert.equal(await node.metaLeaderName(), leader.name, `${node.name} follows the same meta leader`);
    }
    const jsz = (await leader.monitor('/jsz'))?.body as { meta_cluster?: { cluster_size?: number } };
    assert.equal(jsz.meta_cluster?.cluster_size, 3);
  });

  // Scenario: an R3 stream's leader is killed with SIGKILL. The other two
  // elect a new leader and keep taking writes; the killed node, restarted on
  // its store, catches up on what it missed.
  it('testkit: an R3 stream survives the kill of its leader, and the node catches up after restart', async () => {
    await jsm.streams.add({ name: 'CL_R3', subjects: ['cl.r3.>'], num_replicas: 3, storage: StorageType.File });
    for (let i = 0; i < 20; i++) await publishAcked(js, 'cl.r3.a', `before-${i}`);
    const old = await cluster.streamLeader('CL_R3');
    await cluster.kill(old);
    assert.equal(old.running, false);
    const successor = await cluster.streamLeader('CL_R3');
    assert.notEqual(successor.name, old.name, 'a new leader is elected among the survivors');
    for (let i = 0; i < 20; i++) await publishAcked(js, 'cl.r3.a', `after-${i}`);
    assert.equal((await jsm.streams.info('CL_R3')).state.messages, 40, 'writes continued on two of three');
    await cluster.restart(old);
    const caughtUp = await waitFor('the restarted node to hold all 40 messages', async () => {
      const state = await old.streamState('CL_R3');
      return state?.messages === 40 ? state : undefined;
    });
    assert.equal(caughtUp.lastSeq, 40);
    assert.equal(await old.healthy(), true);
  });

  // Scenario: the meta leader is paused with SIGSTOP (a partition or a long
  // stall): it stops answering while its process stays, the others elect a
  // new meta leader, and after SIGCONT it answers and rejoins as a follower.
  // The freeze outlasts a slow election: nats-server's election timeouts run
  // to several seconds, more on a busy machine (8 s was too short under a
  // CPU burner: the node thawed still the leader).
  it('testkit: freeze pauses a node and resumes it', async () => {
    const frozen = await cluster.metaLeader();
    const pid = frozen.pid;
    const thawed = cluster.freeze(frozen, 20_000);
    assert.equal(frozen.frozen, true);
    assert.equal(frozen.running, true);
    assert.equal(frozen.pid, pid);
    assert.equal(await frozen.monitor('/healthz', 500), undefined, 'a frozen node does not answer');
    const successor = await cluster.metaLeader(19_000);
    assert.notEqual(successor.name, frozen.name, 'the others elect a new meta leader');
    await thawed;
    assert.equal(frozen.frozen, false);
    await waitFor('the resumed node to be healthy', async () => ((await frozen.healthy()) ? true : undefined), 30_000, 100);
    // Healthy can come before it has heard from the leader again: wait until it names the one the others do.
    const leader = (await cluster.metaLeader()).name;
    await waitFor(
      'the resumed node to follow the meta leader',
      async () => ((await frozen.metaLeaderName()) === leader ? true : undefined),
      30_000,
      100,
    );
  });
});
