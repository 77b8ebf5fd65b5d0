import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SourceStore } from '@hookstream/models';
import { type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, type NatsServer, startNatsServer, waitFor } from '@hookstream/testkit';
import { type ServiceProcess, startService } from './processes.ts';
import { postStripe } from './stripe.ts';

const SECRET = 'whsec_otlp_env_secret';
const t = topology('otlpenv');

interface CollectedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A stand-in OTLP/HTTP collector: accepts POST /v1/traces (any body) and keeps what arrived. */
async function startCollector(): Promise<{ url: string; received: CollectedRequest[]; close(): Promise<void> }> {
  const received: CollectedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const ok = req.method === 'POST' && req.url === '/v1/traces';
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' }).end(ok ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('OTLP export from the standard OTEL_* variables', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let ingest: ServiceProcess | undefined;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    collector = await startCollector();
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({
      id: 'stripe',
      provider: 'stripe',
      secrets: [{ id: 'k1', value: SECRET }],
    });
  });

  after(async () => {
    await ingest?.stop();
    await nats?.drain();
    await server?.stop();
    await collector?.close();
  });

  it('observability: a service exports its spans with only OTEL_EXPORTER_OTLP_ENDPOINT set (headers, name, attributes, too)', async () => {
    // Scenario: the production entry point of ingest, configured the way any
    // OpenTelemetry SDK is (no HS_OTLP_ENDPOINT); a webhook's span reaches
    // the collector at <endpoint>/v1/traces, with the configured header and
    // resource.
    const port = await freePort();
    ingest = await startService('ingest', {
      HS_NATS_URL: server.url,
      HS_NAMESPACE: 'otlpenv',
      HS_INGEST_PORT: String(port),
      HS_INGEST_HOST: '127.0.0.1',
      // Empty: unset (a developer's shell may carry them).
      HS_OTLP_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      OTEL_SDK_DISABLED: '',
      OTEL_TRACES_EXPORTER: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer otlp-test-token',
      OTEL_SERVICE_NAME: 'hooks-ingest-otel',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=otlp-env-test',
      // The batch processor's standard delay, short so the span leaves before the test waits long.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const answer = await postStripe(port, '{"id":"evt_otlp_env","type":"charge.succeeded"}', SECRET);
    assert.equal(answer.status, 202);
    const request = await waitFor('a span at the collector', () => collector.received.find((r) => r.body.includes('hooks-ingest-otel')));
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/traces');
    assert.equal(request.headers.authorization, 'Bearer otlp-test-token');
    assert.match(String(request.headers['content-type']), /application\/(json|x-protobuf)/);
    assert.ok(request.body.includes('otlp-env-test'), 'OTEL_RESOURCE_ATTRIBUTES are in the resource');
    // OTLP/JSON: resourceSpans[].scopeSpans[].spans[].
    // biome-ignore lint/suspicious/noExplicitAny: the OTLP payload is untyped JSON
    const payload = JSON.parse(request.body) as any;
    const spans = payload.resourceSpans.flatMap((r: { scopeSpans: { spans: unknown[] }[] }) => r.scopeSpans.flatMap((s) => s.spans));
    const span = spans.find((s: { name: string }) => s.name === 'ingest');
    assert.ok(span, `the ingest span is exported (got ${spans.map((s: { name: string }) => s.name).join(', ')})`);
    assert.deepEqual(span.attributes.find((a: { key: string }) => a.key === 'hookstream.source')?.value, { stringValue: 'stripe' });
    assert.equal(await ingest.stop(), 0, 'ingest stops cleanly, flushing its spans');
  });
});
