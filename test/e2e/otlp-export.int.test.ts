import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inSpan, setupTelemetry } from '@hookstream/runtime';
import { startEndpoint, waitFor } from '@hookstream/testkit';
import { ROOT_CONTEXT } from '@opentelemetry/api';

describe('OTLP export', () => {
  it('observability: with HS_OTLP_ENDPOINT set, spans are exported over OTLP/HTTP', async () => {
    // Scenario: a collector listens locally; a service's spans reach it.
    const collector = await startEndpoint();
    try {
      const telemetry = setupTelemetry({ service: 'otlp-test', otlpEndpoint: `${collector.url.replace('/hook', '')}/v1/traces` });
      await inSpan('verify', 'consumer', ROOT_CONTEXT, { 'hookstream.source': 'stripe' }, async () => undefined);
      await telemetry.shutdown();
      const request = await waitFor('an OTLP request', () => collector.received[0]);
      assert.equal(request.path, '/v1/traces');
      assert.match(String(request.headers['content-type']), /application\/(json|x-protobuf)/);
      assert.ok(request.body.includes('verify'), 'the span name is in the payload');
      assert.ok(request.body.includes('otlp-test'), 'the service name is in the resource');
    } finally {
      await collector.close();
    }
  });
});
