import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ServiceError, status } from '@grpc/grpc-js';
import { Header } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { type ControlApi, connectControl, type DeadLetterFilter } from '@hookstream/proto';
import { createLogger, type NatsHandle, topology } from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer } from '@hookstream/testkit';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const NS = 'dlqpage';
const t = topology(NS);
const TOKEN = 'dlq-page-token-0123456789abcdef';
const logger = createLogger({ service: 'test', level: 'silent' });

const filter = (f: Partial<DeadLetterFilter>): DeadLetterFilter => ({
  stage: '',
  source: '',
  endpoint: '',
  reason: '',
  sinceMs: 0,
  untilMs: 0,
  ...f,
});

describe('control: the dead-letter page RPCs against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let control: ControlApp;
  let api: ControlApi;

  /** Stores a dead letter as a stage does (runtime deadLetterHeaders), dead-lettered at `atMs`. */
  async function deadLetter(o: {
    id: string;
    stage: string;
    source: string;
    reason: string;
    atMs: number;
    endpoint?: string;
  }): Promise<number> {
    const h = headers();
    h.set(Header.eventId, o.id);
    h.set(Header.source, o.source);
    if (o.endpoint !== undefined) h.set(Header.endpointId, o.endpoint);
    h.set(Header.dlqStage, o.stage);
    h.set(Header.dlqReason, o.reason);
    h.set(Header.dlqSubject, t.raw(o.source));
    h.set(Header.dlqAt, String(o.atMs));
    h.set(Header.dlqDeliveries, '1');
    const key = o.endpoint ?? o.source;
    const ack = await jetstream(nats.nc).publish(t.dlq(o.stage, key), '{}', { headers: h, msgID: `${o.id}:dlq` });
    return ack.seq;
  }

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    control = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: NS,
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONSOLE_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
      }),
      { logger },
    );
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await nats?.drain();
    await server?.stop();
  });

  it('control: ListDeadLetters newest_first pages backwards; a time range keeps only those dead-lettered in it', async () => {
    const source = 'newest';
    for (const [id, atMs] of [
      ['nf-a', 1_000],
      ['nf-b', 2_000],
      ['nf-c', 3_000],
    ] as const) {
      await deadLetter({ id, stage: 'verify', source, reason: 'bad_signature', atMs });
    }
    const first = await api.listDeadLetters({ filter: filter({ source }), pageSize: 2, newestFirst: true });
    assert.deepEqual(
      first.deadLetters.map((d) => d.eventId),
      ['nf-c', 'nf-b'],
    );
    assert.notEqual(first.nextPageToken, '');
    const second = await api.listDeadLetters({
      filter: filter({ source }),
      pageSize: 2,
      newestFirst: true,
      pageToken: first.nextPageToken,
    });
    assert.deepEqual(
      second.deadLetters.map((d) => d.eventId),
      ['nf-a'],
    );
    assert.equal(second.nextPageToken, '');
    const oldest = await api.listDeadLetters({ filter: filter({ source }) });
    assert.deepEqual(
      oldest.deadLetters.map((d) => d.eventId),
      ['nf-a', 'nf-b', 'nf-c'],
      'oldest first by default, as before',
    );
    const window = await api.listDeadLetters({ filter: filter({ source, sinceMs: 2_000, untilMs: 3_000 }), newestFirst: true });
    assert.deepEqual(
      window.deadLetters.map((d) => d.eventId),
      ['nf-b'],
      'since inclusive, until exclusive',
    );
  });

  it('control: SummarizeDeadLetters counts a filter by reason and offers the stages, sources, endpoints and reasons', async () => {
    await api.createSource({
      configJson: JSON.stringify({ id: 'summary', provider: 'stripe', secrets: [{ id: 'k1', value: 'whsec_c3VtbWFyeQ==' }] }),
    });
    const now = Date.now();
    await deadLetter({ id: 'su-1', stage: 'verify', source: 'summary', reason: 'bad_signature', atMs: now });
    await deadLetter({ id: 'su-2', stage: 'verify', source: 'summary', reason: 'bad_signature', atMs: now });
    await deadLetter({ id: 'su-3', stage: 'validate', source: 'summary', reason: 'schema', atMs: now });
    await deadLetter({ id: 'su-4', stage: 'deliver', source: 'summary', endpoint: 'summary-ep', reason: 'http_4xx', atMs: now });
    const all = await api.summarizeDeadLetters({ filter: filter({ source: 'summary' }) });
    assert.equal(all.total, 4);
    assert.deepEqual(all.byReason, { bad_signature: 2, schema: 1, http_4xx: 1 });
    assert.equal(all.truncated, false);
    for (const stage of ['dedup', 'deliver', 'route', 'validate', 'verify']) assert.ok(all.stages.includes(stage), stage);
    assert.ok(all.sources.includes('summary'), 'a configured source with dead letters');
    assert.ok(all.endpoints.includes('summary-ep'), 'the endpoint of a deliver dead letter');
    for (const reason of ['bad_signature', 'http_4xx', 'schema']) assert.ok(all.reasons.includes(reason), reason);
    assert.deepEqual([...all.stages], [...all.stages].sort(), 'sorted');
    const verify = await api.summarizeDeadLetters({ filter: filter({ source: 'summary', stage: 'verify' }) });
    assert.equal(verify.total, 2);
    assert.deepEqual(verify.byReason, { bad_signature: 2 });
  });

  it('control: PurgeDeadLetters with a time range deletes only the dead letters of that window', async () => {
    const source = 'window';
    for (const [id, atMs] of [
      ['pw-a', 1_000],
      ['pw-b', 2_000],
      ['pw-c', 3_000],
    ] as const) {
      await deadLetter({ id, stage: 'verify', source, reason: 'stale', atMs });
    }
    const purged = await api.purgeDeadLetters({ filter: filter({ source, sinceMs: 1_500, untilMs: 2_500 }) });
    assert.equal(purged.purged, 1);
    const left = await api.listDeadLetters({ filter: filter({ source }) });
    assert.deepEqual(
      left.deadLetters.map((d) => d.eventId),
      ['pw-a', 'pw-c'],
    );
  });

  it('control: a reversed dead-letter time range is INVALID_ARGUMENT', async () => {
    const err = await api.summarizeDeadLetters({ filter: filter({ sinceMs: 2_000, untilMs: 1_000 }) }).then(
      () => assert.fail('expected INVALID_ARGUMENT'),
      (e: unknown) => e as ServiceError,
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /until_ms/);
  });
});
