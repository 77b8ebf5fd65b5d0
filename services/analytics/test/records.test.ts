import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRecord } from '@hookstream/analytics';
import { splitStatements } from '@hookstream/clickhouse';
import { loadConfig } from '../src/config.ts';
import { ATTEMPTS, DRIFT, DUPLICATES, RECEIVED, REJECTIONS, SCHEMA_FAILURES, SKIPPED } from './fixtures.ts';

const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('analytics records', () => {
  it('analytics: each kind maps to its table with the row id its producer uses for Nats-Msg-Id', () => {
    const cases: [unknown, string, string][] = [
      [ATTEMPTS[0], 'delivery_attempts', 'e1:billing:attempt:1'],
      [REJECTIONS[0], 'rejections', 'r1:rejection:verify'],
      [DUPLICATES[0], 'duplicates', 'd1:duplicate'],
      [SCHEMA_FAILURES[0], 'schema_failures', 's1:schema_failure'],
      [DRIFT[0], 'drift', 'x1:drift:$.data.object.risk'],
      [SKIPPED[0], 'delivery_skipped', 'k1:crm:skipped'],
      [RECEIVED[0], 'received', 'r1:received'],
    ];
    for (const [record, table, rowId] of cases) {
      const parsed = parseRecord('hs.obs.x', bytes(record));
      assert.ok(parsed.ok);
      assert.equal(parsed.table.name, table);
      assert.equal(parsed.row.row_id, rowId);
    }
  });

  it('analytics: an attempt keeps every field; null status and next_retry_at stay null', () => {
    const parsed = parseRecord('hs.obs.attempt', bytes(ATTEMPTS[1]));
    assert.ok(parsed.ok);
    const { row_id: _, ...row } = parsed.row;
    const { kind: __, error, ...record } = ATTEMPTS[1] as Record<string, unknown>;
    // No response came: the excerpt column keeps deliver's error.
    assert.deepEqual(row, { ...record, response_excerpt: error });
    assert.equal(error, 'timeout after 3000 ms');
    assert.equal(parsed.row.status, null);
  });

  it('analytics: schema failure errors are kept as JSON text with their count; a null event type stays null', () => {
    const parsed = parseRecord('hs.obs.schema_failure', bytes(SCHEMA_FAILURES[1]));
    assert.ok(parsed.ok);
    assert.equal(parsed.row.event_type, null);
    assert.equal(parsed.row.error_count, 1);
    assert.deepEqual(JSON.parse(String(parsed.row.errors)), (SCHEMA_FAILURES[1] as { errors: unknown }).errors);
  });

  it("analytics: a replayed task's attempt and skip records get their own row ids (as deliver's Nats-Msg-Id)", () => {
    const enc = (v: object) => new TextEncoder().encode(JSON.stringify(v));
    const attempt = parseRecord('hs.obs.attempt', enc({ ...ATTEMPTS[0], replay: 'dlq-7' }));
    assert.ok(attempt.ok);
    assert.equal(attempt.row.row_id, `${ATTEMPTS[0]?.event_id}:${ATTEMPTS[0]?.endpoint_id}:dlq-7:attempt:${ATTEMPTS[0]?.attempt}`);
    const original = parseRecord('hs.obs.attempt', enc({ ...ATTEMPTS[0] }));
    assert.ok(original.ok);
    assert.equal(original.row.row_id, `${ATTEMPTS[0]?.event_id}:${ATTEMPTS[0]?.endpoint_id}:attempt:${ATTEMPTS[0]?.attempt}`);
    const skipped = parseRecord('hs.obs.skipped', enc({ ...SKIPPED[0], replay: 'r1' }));
    assert.ok(skipped.ok);
    assert.equal(skipped.row.row_id, `${SKIPPED[0]?.event_id}:${SKIPPED[0]?.endpoint_id}:r1:skipped`);
  });

  it("analytics: each HTTP request's attempt record gets its own row id (deliver's request_id), so a repeated attempt is a second row", () => {
    const enc = (v: object) => new TextEncoder().encode(JSON.stringify(v));
    const first = parseRecord('hs.obs.attempt', enc({ ...ATTEMPTS[0], request_id: 'q-1' }));
    const again = parseRecord('hs.obs.attempt', enc({ ...ATTEMPTS[0], request_id: 'q-2' }));
    const replayed = parseRecord('hs.obs.attempt', enc({ ...ATTEMPTS[0], request_id: 'q-3', replay: 'dlq-7' }));
    assert.ok(first.ok && again.ok && replayed.ok);
    assert.equal(first.row.row_id, 'e1:billing:attempt:1:q-1');
    assert.equal(again.row.row_id, 'e1:billing:attempt:1:q-2');
    assert.equal(replayed.row.row_id, 'e1:billing:dlq-7:attempt:1:q-3');
    assert.equal(first.row.attempt, again.row.attempt, 'the attempt number stays a column');
  });

  it('analytics: a received record keeps every field; a status out of range or a missing request id is refused', () => {
    const parsed = parseRecord('hs.obs.received', bytes(RECEIVED[2]));
    assert.ok(parsed.ok);
    const { row_id: _, ...row } = parsed.row;
    const { kind: __, ...record } = RECEIVED[2] as Record<string, unknown>;
    assert.deepEqual(row, record);
    for (const bad of [
      { ...RECEIVED[0], status: 70_000 },
      { ...RECEIVED[0], request_id: '' },
      { ...RECEIVED[0], received_at: undefined },
    ]) {
      const refused = parseRecord('hs.obs.received', bytes(bad));
      assert.equal(refused.ok, false, JSON.stringify(bad));
    }
  });

  it('analytics: a record without a kind takes it from the subject', () => {
    const { kind: _, ...record } = DUPLICATES[0] as Record<string, unknown>;
    const parsed = parseRecord('ns.hs.obs.duplicate', bytes(record));
    assert.ok(parsed.ok);
    assert.equal(parsed.table.name, 'duplicates');
  });

  it('analytics: unstorable records are refused with a reason, never thrown', () => {
    const cases: [string, string][] = [
      ['{nope', 'unparseable'],
      ['[1,2]', 'unparseable'],
      [JSON.stringify({ kind: 'delivered', event_id: 'a', at: 1 }), 'unknown_kind'],
      // A kind with a table (since 0004) whose record lacks its fields.
      [JSON.stringify({ kind: 'received', event_id: 'a', at: 1 }), 'invalid_record'],
      [JSON.stringify({ ...ATTEMPTS[0], outcome: 'teapot' }), 'invalid_record'],
      [JSON.stringify({ ...ATTEMPTS[0], event_id: '' }), 'invalid_record'],
      [JSON.stringify({ ...ATTEMPTS[0], latency_ms: -1 }), 'invalid_record'],
      [JSON.stringify({ ...ATTEMPTS[0], at: '1767225600000' }), 'invalid_record'],
      [JSON.stringify({ ...REJECTIONS[0], source: 7 }), 'invalid_record'],
    ];
    for (const [body, reason] of cases) {
      const parsed = parseRecord('hs.obs.attempt', bytes(body));
      assert.equal(parsed.ok, false, body);
      assert.equal(parsed.ok ? '' : parsed.reason, reason, body);
    }
    const invalidUtf8 = parseRecord('hs.obs.attempt', new Uint8Array([0x7b, 0xff, 0x7d]));
    assert.equal(invalidUtf8.ok ? '' : invalidUtf8.reason, 'unparseable');
  });

  it('analytics: the response excerpt is cut at 1 KiB', () => {
    const parsed = parseRecord('hs.obs.attempt', bytes({ ...ATTEMPTS[0], response_excerpt: 'x'.repeat(5_000) }));
    assert.ok(parsed.ok);
    assert.equal(String(parsed.row.response_excerpt).length, 1_024);
  });
});

describe('analytics migrations and config', () => {
  it('analytics: migration files split into statements without comments', () => {
    const sql =
      '-- header; with a semicolon\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\n-- next\nCREATE TABLE b (y String) ENGINE = Memory;\n';
    assert.deepEqual(splitStatements(sql), ['CREATE TABLE a (x UInt8) ENGINE = Memory', 'CREATE TABLE b (y String) ENGINE = Memory']);
  });

  it('analytics: config defaults, and every bad variable named at once', () => {
    const config = loadConfig({});
    assert.equal(config.clickhouseUrl, 'http://127.0.0.1:8123');
    assert.equal(config.clickhouseDatabase, 'hookstream');
    assert.equal(config.batchSize, 5_000);
    assert.equal(config.batchIntervalMs, 1_000);
    assert.equal(config.healthPort, 9108);
    assert.throws(
      () => loadConfig({ HS_CLICKHOUSE_DATABASE: 'a;drop', HS_CLICKHOUSE_URL: 'ftp://x', HS_ANALYTICS_BATCH_INTERVAL_MS: '10' }),
      (err: Error) =>
        /HS_CLICKHOUSE_DATABASE/.test(err.message) &&
        /HS_CLICKHOUSE_URL/.test(err.message) &&
        /HS_ANALYTICS_BATCH_INTERVAL_MS/.test(err.message),
    );
  });
});
