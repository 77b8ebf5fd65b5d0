import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp as buildDedup, loadConfig as dedupConfig } from '@hookstream/dedup';
import { buildApp as buildDeliver, loadConfig as deliverConfig } from '@hookstream/deliver';
import { buildApp as buildIngest, type IngestApp, loadConfig as ingestConfig } from '@hookstream/ingest';
import { EndpointStore, SourceStore } from '@hookstream/models';
import { buildApp as buildRoute, loadConfig as routeConfig } from '@hookstream/route';
import { type App, createLogger, type NatsHandle, openBucket, setupTelemetry, topology } from '@hookstream/runtime';
import {
  connectTestNats,
  httpRequest,
  type NatsServer,
  startEndpoint,
  startNatsServer,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { buildApp as buildValidate, loadConfig as validateConfig } from '@hookstream/validate';
import { buildApp as buildVerify, type VerifyApp, loadConfig as verifyConfig } from '@hookstream/verify';
import { jetstreamManager } from '@nats-io/jetstream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import Stripe from 'stripe';
import { postStripe } from './stripe.ts';

// Installed before any service starts: every span of this process lands here.
const exporter = new InMemorySpanExporter();
setupTelemetry({ service: 'e2e', spanProcessors: [new SimpleSpanProcessor(exporter)] });

const SECRET = 'whsec_obs_secret';
const t = topology('obs');
const logger = createLogger({ service: 'test', level: 'silent' });

describe('observability across the pipeline', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let receiver: TestEndpoint;
  let ingest: IngestApp;
  let verify: VerifyApp;
  const apps: App[] = [];

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    receiver = await startEndpoint();
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({
      id: 'stripe',
      provider: 'stripe',
      secrets: [{ id: 'k1', value: SECRET }],
    });
    await new EndpointStore(await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 })).put({
      id: 'sub',
      url: receiver.url,
      secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
    });
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: 'obs', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' };
    ingest = buildIngest(ingestConfig({ ...env, HS_INGEST_PORT: '0', HS_INGEST_HOST: '127.0.0.1' }), { logger });
    verify = buildVerify(verifyConfig(env), { logger });
    apps.push(
      ingest,
      verify,
      buildDedup(dedupConfig(env), { logger }),
      buildValidate(validateConfig(env), { logger }),
      buildRoute(routeConfig(env), { logger }),
      buildDeliver(deliverConfig({ ...env, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }), { logger }),
    );
    for (const app of apps) await app.run();
  });

  after(async () => {
    for (const app of apps.reverse()) await app.close();
    await receiver?.close();
    await nats?.drain();
    await server?.stop();
  });

  it('observability: one webhook is one trace, a span per stage, each the child of the one before', async () => {
    const body = '{"id":"evt_trace","type":"charge.succeeded"}';
    const res = await postStripe(ingest.server().port, body, SECRET);
    assert.equal(res.status, 202);
    const eventId = (JSON.parse(res.body) as { id: string }).id;
    await waitFor('delivery', () => (receiver.received.length === 1 ? true : undefined), 15_000);
    const stages = ['ingest', 'verify', 'dedup', 'validate', 'route', 'deliver'];
    const spans = await waitFor('six spans', () => {
      const mine = exporter.getFinishedSpans().filter((s) => s.attributes['hookstream.event_id'] === eventId);
      return stages.every((n) => mine.some((s) => s.name === n)) ? mine : undefined;
    });
    const byName = new Map(spans.map((s) => [s.name, s]));
    const traceId = byName.get('ingest')?.spanContext().traceId;
    assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
    for (let i = 1; i < stages.length; i++) {
      const span = byName.get(stages[i] as string);
      const parent = byName.get(stages[i - 1] as string);
      assert.equal(span?.spanContext().traceId, traceId, `${stages[i]} is in the trace`);
      assert.equal(span?.parentSpanContext?.spanId, parent?.spanContext().spanId, `${stages[i]} is a child of ${stages[i - 1]}`);
    }
    const deliverSpan = byName.get('deliver');
    assert.equal(deliverSpan?.attributes['hookstream.endpoint'], 'sub');
    assert.equal(deliverSpan?.attributes['hookstream.delivery_outcome'], 'success');
    assert.equal(deliverSpan?.attributes['hookstream.attempt'], 1);
    assert.equal(byName.get('verify')?.attributes['hookstream.source'], 'stripe');
  });

  it('observability: /metrics parses, and counts move as events flow', async () => {
    const scrape = async (port: number) => (await httpRequest({ port, path: '/metrics' })).body;
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(series));
      return line === undefined ? 0 : Number(line.slice(series.length).trim());
    };
    const before = await scrape(verify.healthPort());
    // Every line is a comment or `name{labels} value`.
    for (const line of before.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      assert.match(line, /^[a-z_:][a-z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/, line);
    }
    const acked = 'hookstream_stage_messages_total{stage="verify",outcome="ack"}';
    const ingested = 'hookstream_ingest_requests_total{source="stripe",status="202"}';
    const forged = 'hookstream_stage_messages_total{stage="verify",outcome="term"}';
    const before202 = value(before, ingested);
    const beforeAck = value(before, acked);
    const beforeTerm = value(before, forged);
    const body = '{"id":"evt_metrics","type":"charge.succeeded"}';
    const sign = (secret: string) =>
      Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) });
    for (const secret of [SECRET, 'whsec_wrong']) {
      const r = await httpRequest({
        port: ingest.server().port,
        path: '/v1/webhooks/stripe',
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'stripe-signature': sign(secret) },
      });
      assert.equal(r.status, 202);
    }
    const after = await waitFor('counters', async () => {
      const text = await scrape(verify.healthPort());
      return value(text, acked) === beforeAck + 1 && value(text, forged) === beforeTerm + 1 ? text : undefined;
    });
    assert.equal(value(after, ingested), before202 + 2);
    assert.match(after, /hookstream_stage_duration_seconds_bucket\{le="0.005",stage="verify"\}/);
    assert.match(after, /hookstream_consumer_pending_messages\{stage="verify"\} 0/);
    const dlq = await (await jetstreamManager(nats.nc)).streams.info(t.streams.dlq);
    assert.ok(dlq.state.messages >= 1, 'the forged event is in the DLQ');
    // Dead-letter depth is control's to report (not started here), so no pipeline service has the series.
    assert.doesNotMatch(after, /^hookstream_dlq_messages/m);
    assert.ok(value(after, 'hookstream_delivery_attempts_total{endpoint="sub",outcome="success"}') >= 1);
    assert.match(after, /hookstream_circuit_state\{endpoint="sub",state="closed"\} 1/);
    assert.match(after, /hookstream_circuit_state\{endpoint="sub",state="open"\} 0/);
    assert.match(after, /hookstream_delivery_duration_seconds_count\{endpoint="sub",outcome="success"\} [1-9]/);
    for (const service of ['ingest', 'verify', 'dedup', 'validate', 'route', 'deliver']) {
      assert.match(after, new RegExp(`^hookstream_build_info\\{version="[^"]+",node="${process.version}",service="${service}"\\} 1$`, 'm'));
    }
  });
});
