import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DELIVERY_PROGRESS_HEADERS,
  deadLetterHeaders,
  Header,
  isDeadLetterHeader,
  OutboundHeader,
  TaskHeader,
} from '@hookstream/contracts';

/** A header sink that keeps the order of `set` calls. */
function sink(): { set(name: string, value: string): void; entries: [string, string][] } {
  const entries: [string, string][] = [];
  return { entries, set: (name, value) => entries.push([name, value]) };
}

describe('headers', () => {
  it('headers: the wire names of the envelope stay what every stored message carries', () => {
    assert.equal(Header.eventId, 'hs-event-id');
    assert.equal(Header.source, 'hs-source');
    assert.equal(Header.receivedAt, 'hs-received-at');
    assert.equal(Header.eventType, 'hs-event-type');
    assert.equal(Header.idempotencyKey, 'hs-idempotency-key');
    assert.equal(Header.verifiedSecretId, 'hs-verified-secret-id');
    assert.equal(Header.endpointId, 'hs-endpoint-id');
    assert.equal(Header.lane, 'hs-lane');
    assert.equal(Header.replay, 'hs-replay');
    assert.equal(Header.replayedAt, 'hs-replayed-at');
    assert.deepEqual(TaskHeader, { attempt: 'hs-attempt', notBefore: 'hs-not-before', requeues: 'hs-requeues' });
  });

  it("headers: the outbound names are Standard Webhooks' and the request id subscribers and the attempt rows rely on", () => {
    assert.deepEqual(OutboundHeader, {
      id: 'webhook-id',
      timestamp: 'webhook-timestamp',
      signature: 'webhook-signature',
      requestId: 'hookstream-request-id',
    });
  });

  it('headers: deliver progress headers are derived from TaskHeader, not repeated', () => {
    assert.deepEqual([...DELIVERY_PROGRESS_HEADERS], Object.values(TaskHeader));
    assert.ok(Object.isFrozen(DELIVERY_PROGRESS_HEADERS));
  });

  it('headers: deadLetterHeaders writes the hs-dlq-* headers in one order, detail on one line and bounded', () => {
    const h = deadLetterHeaders(sink(), {
      stage: 'deliver',
      reason: 'http_4xx',
      detail: `line one\r\nline two ${'x'.repeat(3_000)}`,
      subject: 'hs.deliver.ep',
      atMs: 1_700_000_000_000,
      deliveries: 3,
    });
    assert.deepEqual(
      h.entries.map(([name]) => name),
      ['hs-dlq-stage', 'hs-dlq-reason', 'hs-dlq-detail', 'hs-dlq-subject', 'hs-dlq-at', 'hs-dlq-deliveries'],
    );
    const detail = h.entries.find(([name]) => name === Header.dlqDetail)?.[1] ?? '';
    assert.equal(detail.length, 2_000);
    assert.ok(detail.startsWith('line one line two x'));
    assert.deepEqual(
      h.entries.find(([name]) => name === Header.dlqAt),
      ['hs-dlq-at', '1700000000000'],
    );
  });

  it('headers: deadLetterHeaders leaves out what the stage does not know and adds the reduced form when given', () => {
    // Scenario: route dead-letters without a delivery count; the worker stores a too-large message without its body.
    const route = deadLetterHeaders(sink(), { stage: 'route', reason: 'filter_error', detail: 'x', subject: 's', atMs: 1 });
    assert.deepEqual(
      route.entries.map(([name]) => name),
      ['hs-dlq-stage', 'hs-dlq-reason', 'hs-dlq-detail', 'hs-dlq-subject', 'hs-dlq-at'],
    );
    const reduced = deadLetterHeaders(sink(), {
      stage: 'verify',
      reason: 'too_large',
      subject: 'hs.raw.s',
      atMs: 2,
      deliveries: 1,
      reduced: { reduced: 'too_large', bodyBytes: 1_048_576, originStream: 'HS_RAW', originSeq: 42 },
    });
    assert.deepEqual(reduced.entries, [
      ['hs-dlq-stage', 'verify'],
      ['hs-dlq-reason', 'too_large'],
      ['hs-dlq-subject', 'hs.raw.s'],
      ['hs-dlq-at', '2'],
      ['hs-dlq-deliveries', '1'],
      ['hs-dlq-reduced', 'too_large'],
      ['hs-dlq-body-bytes', '1048576'],
      ['hs-dlq-origin-stream', 'HS_RAW'],
      ['hs-dlq-origin-seq', '42'],
    ]);
  });

  it('headers: every header deadLetterHeaders writes is one a replay drops', () => {
    const h = deadLetterHeaders(sink(), {
      stage: 's',
      reason: 'r',
      detail: 'd',
      subject: 'x',
      atMs: 1,
      deliveries: 1,
      reduced: { reduced: 'too_large', bodyBytes: 1, originStream: 'S', originSeq: 1 },
    });
    for (const [name] of h.entries) assert.ok(isDeadLetterHeader(name), name);
    assert.equal(isDeadLetterHeader('HS-DLQ-Reason'), true);
    assert.equal(isDeadLetterHeader(Header.eventId), false);
  });
});
