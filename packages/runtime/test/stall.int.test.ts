import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import {
  buildStage,
  createLogger,
  EnvReader,
  ensureStreams,
  type Logger,
  metrics,
  type NatsHandle,
  readBaseConfig,
  readStageSettings,
  type StageApp,
  startWorker,
  streamConfigs,
  type Topology,
  topology,
  type Worker,
} from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, startNatsServer, waitFor } from '@hookstream/testkit';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, nanos } from '@nats-io/transport-node';
import { ack } from '../src/outcome.ts';

// Short, so a stall shows within a second; production's default is twice the ack wait.
const STALL_AFTER_MS = 1_000;

/** Log lines as JSON objects, for asserting what an operator would read. */
function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new PassThrough();
  let rest = '';
  destination.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  return { logger: createLogger({ service: 'stall-test', level: 'info', destination }), lines };
}

async function gauge(consumer: string): Promise<number | undefined> {
  return (await metrics.consumerStalled.get()).values.find((v) => v.labels.consumer === consumer)?.value;
}

async function recoveries(consumer: string, outcome = 'ok'): Promise<number> {
  return (await metrics.consumerRecoveries.get()).values
    .filter((v) => v.labels.consumer === consumer && v.labels.outcome === outcome)
    .reduce((n, v) => n + v.value, 0);
}

describe('stalled consumers against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const apps: StageApp[] = [];
  const workers: Worker[] = [];

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    js = jetstream(nats.nc);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    for (const w of workers) await w.stop();
    for (const app of apps) await app.close();
    await nats?.drain();
    await server?.stop();
  });

  /** A stage on `hs.verified.>` whose handler acks and records each event id, built as services build theirs. */
  async function startStage(ns: string, logger: Logger): Promise<{ app: StageApp; t: Topology; durable: string; received: string[] }> {
    const received: string[] = [];
    const r = new EnvReader({
      HS_NATS_URL: server.url,
      HS_NAMESPACE: ns,
      HS_HEALTH_HOST: '127.0.0.1',
      HS_HEALTH_PORT: '0',
      HS_STALLTEST_CONCURRENCY: '4',
      HS_STALLTEST_STALL_AFTER_MS: String(STALL_AFTER_MS),
    });
    const config = { ...readBaseConfig(r, 'stall-test', 0), ...readStageSettings(r, 'STALLTEST') };
    r.done();
    const durable = `stall${ns}`;
    const app = buildStage({
      config,
      logger,
      stage: durable,
      input: (t) => ({ stream: t.streams.pipe, filterSubject: t.subject('hs.verified.>') }),
      setup: async () => ({
        handle: async (m) => {
          received.push(m.header(Header.eventId) ?? '?');
          return ack();
        },
      }),
    });
    apps.push(app);
    await app.run();
    return { app, t: topology(ns), durable, received };
  }

  async function publish(subject: string, eventId: string): Promise<void> {
    const h = headers();
    h.set(Header.eventId, eventId);
    h.set(Header.source, 'src');
    await js.publish(subject, new TextEncoder().encode(eventId), { headers: h });
  }

  const readyz = async (port: number): Promise<{ status: number; body: Record<string, unknown> }> => {
    const answer = await httpRequest({ port, path: '/readyz' });
    return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
  };

  it('stall: a durable consumer deleted under a running stage is re-created and the work stored meanwhile is delivered', async () => {
    // Scenario: the stage's durable consumer is deleted while its worker runs
    // (an operator's `nats consumer rm`, a store that lost it). The client
    // alone keeps pulling from a consumer that is gone and never re-creates
    // it: the stage would stop consuming while /healthz and /readyz say ok.
    const { logger, lines } = capturedLogger();
    const { app, t, durable, received } = await startStage('sd1', logger);
    await publish(t.verified('src'), 'e1');
    await waitFor('e1 handled', () => (received.includes('e1') ? true : undefined));

    await jsm.consumers.delete(t.streams.pipe, durable);
    await publish(t.verified('src'), 'e2');
    await publish(t.verified('src'), 'e3');

    await waitFor(
      'e2 and e3 handled after the consumer is re-created',
      () => (received.includes('e2') && received.includes('e3') ? true : undefined),
      20_000,
    );
    const info = await jsm.consumers.info(t.streams.pipe, durable);
    assert.equal(info.config.filter_subject, t.subject('hs.verified.>'), 're-created with its filter');
    assert.equal(info.config.ack_wait, nanos(30_000), 'and its ack wait');
    assert.equal(info.config.max_ack_pending, 64, 'and its max ack pending');
    assert.deepEqual(
      received.filter((id) => id === 'e1'),
      ['e1'],
      'the work acked before is not handed out again',
    );
    assert.ok((await recoveries(durable)) >= 1, 'the recovery is counted');
    const stalled = lines.find((l) => l.msg === 'consumer stalled: pending work is not delivered' && l.consumer === durable);
    assert.equal(stalled?.reason, 'consumer_missing', 'the stall is logged with its reason');
    assert.ok(
      lines.some(
        (l) =>
          typeof l.msg === 'string' && l.msg.startsWith('stalled consumer') && l.consumer === durable && l.reason === 'consumer_missing',
      ),
      'the recovery is logged with its reason',
    );
    await waitFor('/readyz ok again', async () => ((await readyz(app.healthPort())).status === 200 ? true : undefined));
    assert.equal(await gauge(durable), 0, 'hookstream_consumer_stalled back to 0');
  });

  it('stall: a paused consumer with pending work makes /readyz fail, naming it and why, until it delivers again', async () => {
    // Scenario: the server stops handing out a consumer's messages while the
    // worker waits on its pull (nats-server 2.11's consumer pause API stands
    // in for a pull request the server lost, as on 2.9.10 after a chaos
    // run). Nothing errors; only the consumer's pending count says so.
    const { logger, lines } = capturedLogger();
    const { app, t, durable, received } = await startStage('sp1', logger);
    await publish(t.verified('src'), 'p1');
    await waitFor('p1 handled', () => (received.includes('p1') ? true : undefined));

    await jsm.consumers.pause(t.streams.pipe, durable, new Date(Date.now() + 3_600_000));
    await publish(t.verified('src'), 'p2');
    await publish(t.verified('src'), 'p3');

    const failing = await waitFor(
      '/readyz to report the stalled consumer',
      async () => {
        const answer = await readyz(app.healthPort());
        return answer.status === 503 ? answer.body : undefined;
      },
      20_000,
    );
    assert.equal(failing.status, 'fail');
    assert.equal((failing.checks as Record<string, boolean>).consumers, false);
    assert.equal((failing.checks as Record<string, boolean>).nats, true, 'NATS itself is fine');
    const detail = (failing.details as { consumers: { stalled: number; consumers: Record<string, unknown>[] } }).consumers;
    assert.equal(detail.stalled, 1);
    assert.equal(detail.consumers[0]?.consumer, durable);
    assert.equal(detail.consumers[0]?.stream, t.streams.pipe);
    assert.equal(detail.consumers[0]?.reason, 'paused');
    assert.match(String(detail.consumers[0]?.detail), /2 pending/);
    assert.equal(await gauge(durable), 1, 'hookstream_consumer_stalled is 1');
    assert.deepEqual(received, ['p1'], 'nothing was delivered while paused');

    await jsm.consumers.resume(t.streams.pipe, durable);
    await waitFor('p2 and p3 handled once resumed', () => (received.includes('p2') && received.includes('p3') ? true : undefined), 20_000);
    await waitFor('/readyz ok again', async () => ((await readyz(app.healthPort())).status === 200 ? true : undefined));
    assert.equal(await gauge(durable), 0, 'hookstream_consumer_stalled back to 0');
    assert.ok(lines.some((l) => l.msg === 'consumer no longer stalled' && l.consumer === durable));
    // nats-server (2.15.1) does not serve a pull request that waited through
    // a pause until that request's next heartbeat, 15 s after it was made
    // (about 12 s from here): the watch finds the resumed consumer with work,
    // room and a waiting pull but not delivering, and pulls afresh.
    const pulledAfresh = lines.find((l) => l.msg === 'stalled consumer pulled afresh' && l.consumer === durable);
    assert.equal(pulledAfresh?.reason, 'not_delivering', 'the fresh pull is logged with its reason');
    assert.ok((await recoveries(durable)) >= 1, 'and counted');
    const whilePaused = (await metrics.consumerRecoveries.get()).values.filter(
      (v) => v.labels.consumer === durable && v.labels.reason === 'paused',
    );
    assert.deepEqual(whilePaused, [], 'a pause is an operator’s call: it is shown, never undone');
  });

  it('stall: a worker started on its own (no stage) re-creates its deleted consumer with its own watch', async () => {
    // Scenario: dedup's release consumers are started with startWorker, not
    // through the stage's wiring; they recover the same way.
    const t = topology('sw1');
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    await publish(t.dlq('verify', 'src'), 'seed');
    const durable = 'stallsw1';
    const received: string[] = [];
    const worker = await startWorker({
      js,
      jsm,
      logger: createLogger({ service: 'stall-test', level: 'silent' }),
      stage: 'stall-sw1',
      stream: t.streams.dlq,
      durable,
      filterSubject: t.subject('hs.dlq.verify.>'),
      deadLetterSubject: () => t.dlq('stall-sw1', 'src'),
      maxDeliver: 5,
      ackWaitMs: 1_000,
      concurrency: 1,
      handle: async (m) => {
        received.push(m.headers?.get(Header.eventId) ?? '?');
        return ack();
      },
    });
    workers.push(worker);
    await waitFor('seed handled', () => (received.includes('seed') ? true : undefined));
    await jsm.consumers.delete(t.streams.dlq, durable);
    await publish(t.dlq('verify', 'src'), 'after');
    await waitFor('the dead letter stored after the deletion handled', () => (received.includes('after') ? true : undefined), 20_000);
    assert.equal((await jsm.consumers.info(t.streams.dlq, durable)).config.filter_subject, t.subject('hs.dlq.verify.>'));
    assert.ok(worker.healthy());
  });
});
