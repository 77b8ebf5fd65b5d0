import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attemptErrorText,
  circuitSummary,
  deadLetterPurgeSummary,
  deadLetterReplaySummary,
  decodePayload,
  endpointDeliverySummary,
  endpointReplaySummary,
  eventStateSummary,
  formatBytes,
  formatDuration,
  formatPercent,
  formatRelative,
  formatStatusOutcome,
  formatTime,
  fromDatetimeLocal,
  rejectionSummary,
  secretWindowState,
  toDatetimeLocal,
  truncate,
} from '../web/format.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('formatTime', () => {
  it('prints local YYYY-MM-DD HH:MM:SS', () => {
    assert.equal(formatTime(new Date(2025, 0, 5, 7, 3, 9).getTime()), '2025-01-05 07:03:09');
  });
  it('prints a dash for 0 and undefined', () => {
    assert.equal(formatTime(0), '—');
    assert.equal(formatTime(undefined), '—');
  });
});

describe('formatRelative', () => {
  const now = 1_700_000_000_000;
  it('counts seconds, minutes, hours, days', () => {
    assert.equal(formatRelative(now - 12_000, now), '12 s ago');
    assert.equal(formatRelative(now - 3 * 60_000 - 5000, now), '3 min ago');
    assert.equal(formatRelative(now - 2 * 3_600_000, now), '2 h ago');
    assert.equal(formatRelative(now - 3 * 86_400_000, now), '3 d ago');
  });
  it('handles now and the future', () => {
    assert.equal(formatRelative(now - 200, now), 'just now');
    assert.equal(formatRelative(now + 30_000, now), 'in 30 s');
    assert.equal(formatRelative(undefined, now), '');
  });
});

describe('formatDuration', () => {
  it('uses ms below a second, then seconds and minutes', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(123.4), '123 ms');
    assert.equal(formatDuration(1250), '1.25 s');
    assert.equal(formatDuration(12_500), '12.5 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
    assert.equal(formatDuration(120_000), '2 min');
    assert.equal(formatDuration(undefined), '0 ms');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(20 * 1024), '20 KiB');
    assert.equal(formatBytes(3.2 * 1024 * 1024), '3.2 MiB');
    assert.equal(formatBytes(undefined), '0 B');
  });
});

describe('formatPercent', () => {
  it('shows one decimal unless whole', () => {
    assert.equal(formatPercent(1), '100 %');
    assert.equal(formatPercent(0.995), '99.5 %');
    assert.equal(formatPercent(0.98765), '98.8 %');
    assert.equal(formatPercent(undefined), '0 %');
  });
});

describe('datetime-local', () => {
  it('round-trips at minute precision in local time', () => {
    const ms = new Date(2025, 5, 30, 23, 59, 0).getTime();
    assert.equal(toDatetimeLocal(ms), '2025-06-30T23:59');
    assert.equal(fromDatetimeLocal('2025-06-30T23:59'), ms);
    assert.equal(fromDatetimeLocal('2025-06-30T23:59:30'), ms + 30_000);
  });
  it('rejects other strings', () => {
    assert.equal(fromDatetimeLocal(''), undefined);
    assert.equal(fromDatetimeLocal('yesterday'), undefined);
  });
});

describe('decodePayload', () => {
  it('pretty-prints JSON', () => {
    assert.deepEqual(decodePayload(b64('{"a":1,"b":[true]}')), { kind: 'json', text: '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}' });
  });
  it('keeps other UTF-8 text, including JSON-looking text that is not JSON', () => {
    assert.deepEqual(decodePayload(b64('a=1&b=ü')), { kind: 'text', text: 'a=1&b=ü' });
    assert.deepEqual(decodePayload(b64('{nope')), { kind: 'text', text: '{nope' });
  });
  it('shows non-UTF-8 bytes as base64', () => {
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString('base64');
    assert.deepEqual(decodePayload(raw), { kind: 'base64', text: raw });
  });
  it('reports an empty body', () => {
    assert.equal(decodePayload(undefined).kind, 'empty');
    assert.equal(decodePayload('').kind, 'empty');
  });
});

describe('summaries', () => {
  it('counts dead letters in the singular and plural', () => {
    assert.equal(deadLetterReplaySummary(1), 'Replayed 1 dead letter');
    assert.equal(deadLetterReplaySummary(3), 'Replayed 3 dead letters');
    assert.equal(deadLetterReplaySummary(undefined), 'Replayed 0 dead letters');
  });
  it('describes an endpoint replay with defaults for omitted fields', () => {
    assert.equal(endpointReplaySummary({ replayed: 12, skipped: 3 }), 'Replayed 12 events (3 skipped, 0 already replayed)');
    assert.equal(endpointReplaySummary({ replayed: 1, duplicates: 2 }), 'Replayed 1 event (0 skipped, 2 already replayed)');
    assert.match(endpointReplaySummary({ truncated: true }), /^Replayed 0 events .*limit/);
  });
  it('reads circuits', () => {
    assert.equal(circuitSummary(undefined), 'closed');
    assert.equal(circuitSummary([]), 'closed');
    assert.equal(
      circuitSummary([
        { replica: 'd-1', state: 'open' },
        { replica: 'd-2', state: 'half-open' },
      ]),
      'open on d-1, half-open on d-2',
    );
  });
  it('prints status and outcome', () => {
    assert.equal(formatStatusOutcome(503, 'http_5xx'), '503 http_5xx');
    assert.equal(formatStatusOutcome(0, 'timeout'), 'timeout');
    assert.equal(formatStatusOutcome(undefined, undefined), '—');
  });
  it('truncates', () => {
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 4), 'abc');
    assert.equal(truncate(undefined, 4), '');
  });

  it('console: rejection reasons read most frequent first', () => {
    assert.equal(
      rejectionSummary({ 'verify/stale_timestamp': 1, 'verify/bad_signature': 3, 'validate/schema_violation': 1 }),
      'verify/bad_signature 3, validate/schema_violation 1, verify/stale_timestamp 1',
    );
    assert.equal(rejectionSummary(undefined), '');
  });

  it("console: an event state reads as where the event is (the event page, a duplicate's first event)", () => {
    assert.equal(eventStateSummary({ state: 'events', subject: 'events.demo.demo.ping' }), 'reached events.demo.demo.ping');
    assert.equal(eventStateSummary({ state: 'events', subject: 'events.a.b', replay: 'dlq-3' }), 'reached events.a.b (replayed: dlq-3)');
    assert.equal(
      eventStateSummary({ state: 'dead_lettered', stage: 'validate', reason: 'missing_event_type' }),
      'dead-lettered at validate/missing_event_type',
    );
    assert.match(eventStateSummary({ state: 'unknown' }), /neither/);
    assert.equal(eventStateSummary(undefined), '—');
  });
});

describe('secretWindowState', () => {
  it('console: a secret is scheduled before notBeforeMs, active from it, expired at notAfterMs', () => {
    assert.equal(secretWindowState({}, 5), 'active');
    assert.equal(secretWindowState({ notBeforeMs: 10 }, 9), 'scheduled');
    assert.equal(secretWindowState({ notBeforeMs: 10 }, 10), 'active');
    assert.equal(secretWindowState({ notAfterMs: 20 }, 19), 'active');
    assert.equal(secretWindowState({ notAfterMs: 20 }, 20), 'expired');
  });
});

describe('deadLetterPurgeSummary', () => {
  it('console: a purge says how many dead letters went, singular for one', () => {
    assert.equal(deadLetterPurgeSummary(1), 'Purged 1 dead letter');
    assert.equal(deadLetterPurgeSummary(3), 'Purged 3 dead letters');
    assert.equal(deadLetterPurgeSummary(undefined), 'Purged 0 dead letters');
  });
});

describe('attemptErrorText', () => {
  it('console: every failed attempt has an error text, never "—": timeouts, refused connections, DNS, TLS, status and body', () => {
    assert.equal(attemptErrorText({ outcome: 'success', status: 200 }), '');
    // Deliver's recorded error wins over the outcome's meaning.
    assert.equal(attemptErrorText({ outcome: 'connect', error: 'connect ECONNREFUSED 127.0.0.1:9' }), 'connect ECONNREFUSED 127.0.0.1:9');
    assert.equal(attemptErrorText({ outcome: 'timeout', latencyMs: 3004, error: 'timeout after 3000 ms' }), 'timeout after 3000 ms');
    assert.match(attemptErrorText({ outcome: 'timeout', latencyMs: 3001.4 }), /^timeout after 3001 ms/);
    assert.match(attemptErrorText({ outcome: 'connect', latencyMs: 2 }), /^connection failed: refused or reset/);
    assert.match(attemptErrorText({ outcome: 'dns' }), /^DNS lookup failed/);
    assert.match(attemptErrorText({ outcome: 'tls' }), /^TLS handshake failed/);
    assert.match(attemptErrorText({ outcome: 'blocked' }), /^blocked/);
    assert.equal(attemptErrorText({ outcome: 'http_5xx', status: 503, responseExcerpt: ' busy \n' }), 'HTTP 503: busy');
    assert.equal(attemptErrorText({ outcome: 'http_4xx', status: 400 }), 'HTTP 400 (empty body)');
    assert.equal(
      attemptErrorText({ outcome: 'rate_limited', status: 429, responseExcerpt: 'slow down' }),
      'HTTP 429 rate limited: slow down',
    );
    assert.equal(
      attemptErrorText({ outcome: 'http_5xx', status: 500, responseExcerpt: 'x'.repeat(400) }).length,
      'HTTP 500: '.length + 300,
    );
  });
});

describe('endpointDeliverySummary', () => {
  it('console: "next attempt" only while retrying; a dead-lettered delivery says so with its reason', () => {
    assert.equal(endpointDeliverySummary({ state: 'delivered' }), 'delivered');
    assert.equal(
      endpointDeliverySummary({ state: 'retrying', nextAttemptAtMs: new Date(2025, 0, 5, 7, 3, 9).getTime() }),
      'retrying, next attempt 2025-01-05 07:03:09',
    );
    assert.equal(
      endpointDeliverySummary({ state: 'dead_lettered', reason: 'retries_exhausted', nextAttemptAtMs: 5 }),
      'dead-lettered (retries_exhausted)',
    );
    assert.equal(endpointDeliverySummary({ state: 'failed' }), 'failed, no retry scheduled');
    assert.equal(endpointDeliverySummary({}), 'unknown');
  });
});
