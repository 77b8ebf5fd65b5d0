import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, injectTraceContext, inSpan, setupTelemetry } from '@hookstream/runtime';
import { headers } from '@nats-io/transport-node';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { extractTraceContext } from '../src/telemetry.ts';

setupTelemetry({ service: 'test' });

describe('telemetry', () => {
  it('telemetry: log lines inside a span carry trace_id and span_id, and none outside', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (c: Buffer) => lines.push(...c.toString().trim().split('\n')));
    const logger = createLogger({ service: 'test', level: 'info', destination: out });
    let ids: { traceId: string; spanId: string } | undefined;
    await inSpan('work', 'internal', ROOT_CONTEXT, {}, async (span) => {
      ids = span.spanContext();
      logger.info('inside');
    });
    logger.info('outside');
    await new Promise((r) => setImmediate(r));
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(inside?.trace_id, ids?.traceId);
    assert.equal(inside?.span_id, ids?.spanId);
    assert.equal(outside?.trace_id, undefined);
  });

  it('telemetry: the trace context round-trips through NATS headers', async () => {
    const h = headers();
    let parent = '';
    await inSpan('publisher', 'internal', ROOT_CONTEXT, {}, async (span) => {
      parent = span.spanContext().traceId;
      injectTraceContext(h);
    });
    assert.match(h.get('traceparent'), new RegExp(`^00-${parent}-[0-9a-f]{16}-01$`));
    await inSpan('consumer', 'consumer', extractTraceContext(h), {}, async (span) => {
      assert.equal(span.spanContext().traceId, parent);
    });
    const empty = headers();
    injectTraceContext(empty);
    assert.equal(empty.has('traceparent'), false, 'nothing is injected outside a span');
  });
});
