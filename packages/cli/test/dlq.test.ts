import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAttempt } from '../src/commands/dlq.ts';

const base = {
  endpointId: 'billing',
  attempt: 3,
  status: 0,
  outcome: '',
  latencyMs: 0,
  atMs: Date.UTC(2026, 4, 1, 12),
  nextRetryAtMs: 0,
  responseExcerpt: '',
  replay: '',
  error: '',
};

describe('hs dlq: the last error of a deliver dead letter', () => {
  it('hs dlq: an attempt answered with an error status reads "HTTP {status}" with the body excerpt', () => {
    assert.equal(
      describeAttempt({ ...base, status: 503, outcome: 'http_5xx', latencyMs: 12, responseExcerpt: ' upstream down\n' }),
      'HTTP 503 after 12ms (attempt 3, 2026-05-01T12:00:00.000Z): upstream down',
    );
  });

  it('hs dlq: an attempt without a response reads as its outcome (timeout, connect, dns, tls) and how long it took', () => {
    assert.equal(
      describeAttempt({ ...base, outcome: 'timeout', latencyMs: 5000 }),
      'timeout after 5000ms (attempt 3, 2026-05-01T12:00:00.000Z)',
    );
    assert.equal(
      describeAttempt({ ...base, outcome: 'connect', latencyMs: 2 }),
      'connection failed after 2ms (attempt 3, 2026-05-01T12:00:00.000Z)',
    );
    assert.equal(
      describeAttempt({ ...base, outcome: 'dns', latencyMs: 40 }),
      'DNS lookup failed after 40ms (attempt 3, 2026-05-01T12:00:00.000Z)',
    );
    assert.equal(describeAttempt({ ...base, outcome: 'tls', latencyMs: 9 }), 'TLS failed after 9ms (attempt 3, 2026-05-01T12:00:00.000Z)');
  });

  it('hs dlq: a long body excerpt is cut to 200 characters', () => {
    const text = describeAttempt({ ...base, status: 500, outcome: 'http_5xx', responseExcerpt: 'x'.repeat(500) });
    assert.ok(text.endsWith(`: ${'x'.repeat(200)}`));
  });
});
