import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ATTEMPT_OUTCOMES,
  type AttemptRecord,
  attemptRecordId,
  attemptRowId,
  driftRowId,
  duplicateRowId,
  isRecordKind,
  type RecordKind,
  type RecordOf,
  receivedRowId,
  recordMsgId,
  rejectionRowId,
  replayOfAttemptRow,
  schemaFailureRowId,
  skippedRecordId,
  skippedRowId,
} from '@hookstream/contracts';
import { RECORD_KINDS } from '../src/records.ts';

const attempt: AttemptRecord = {
  kind: 'attempt',
  event_id: 'e1',
  endpoint_id: 'wh',
  source: 's',
  event_type: 't',
  attempt: 2,
  status: 503,
  outcome: 'http_5xx',
  latency_ms: 10,
  e2e_ms: 20,
  next_retry_at: null,
  response_excerpt: '',
  at: 1,
  request_id: 'req',
};

/** One record of every kind, typed by the contracts' map. */
const SAMPLES: { readonly [K in RecordKind]: RecordOf<K> } = {
  rejection: {
    kind: 'rejection',
    stage: 'verify',
    event_id: 'e1',
    source: 's',
    reason: 'bad_signature',
    detail: '',
    received_at: 0,
    at: 1,
  },
  duplicate: {
    kind: 'duplicate',
    event_id: 'e1',
    source: 's',
    idempotency_key: 'k',
    first_event_id: 'f',
    age_ms: 1,
    received_at: 0,
    at: 1,
  },
  schema_failure: {
    kind: 'schema_failure',
    stage: 'validate',
    event_id: 'e1',
    source: 's',
    event_type: null,
    reason: 'malformed_body',
    errors: [],
    received_at: 0,
    at: 1,
  },
  drift: { kind: 'drift', source: 's', event_type: 't', path: '$.a', json_type: 'string', event_id: 'e1', at: 1 },
  attempt,
  skipped: {
    kind: 'skipped',
    event_id: 'e1',
    endpoint_id: 'wh',
    source: 's',
    event_type: 't',
    reason: 'endpoint_disabled',
    attempts: 0,
    at: 1,
  },
  received: {
    kind: 'received',
    request_id: 'e1',
    source: 's',
    status: 202,
    reason: '',
    bytes: 2,
    event_id: 'e1',
    received_at: 0,
    at: 1,
  },
};

describe('records', () => {
  it('records: every kind is listed once, and only those are kinds', () => {
    assert.deepEqual([...RECORD_KINDS].sort(), Object.keys(SAMPLES).sort());
    for (const kind of RECORD_KINDS) assert.equal(isRecordKind(kind), true, kind);
    for (const bad of ['bogus', '', 'toString', '__proto__', 1, undefined]) assert.equal(isRecordKind(bad), false, String(bad));
  });

  it('records: the outcome classes keep the order of the Enum8 in the migrations', () => {
    assert.deepEqual(ATTEMPT_OUTCOMES, ['success', 'http_4xx', 'http_5xx', 'rate_limited', 'timeout', 'dns', 'connect', 'tls', 'blocked']);
  });

  it('records: each kind has the msg id its producer published before the typed publisher', () => {
    assert.equal(recordMsgId('rejection', SAMPLES.rejection), 'e1:obs:rejection:verify');
    assert.equal(recordMsgId('rejection', { ...SAMPLES.rejection, stage: 'ingest' }), 'e1:obs:rejection:ingest');
    assert.equal(recordMsgId('duplicate', SAMPLES.duplicate), 'e1:obs:duplicate');
    assert.equal(recordMsgId('schema_failure', SAMPLES.schema_failure), 'e1:obs:schema_failure');
    assert.equal(recordMsgId('drift', SAMPLES.drift), 'e1:obs:drift:$.a');
    assert.equal(recordMsgId('attempt', attempt), attemptRecordId('e1', 'wh', 2, 'req'));
    assert.equal(recordMsgId('attempt', { ...attempt, replay: 'dlq-4' }), 'e1:wh:dlq-4:attempt:2:req');
    assert.equal(recordMsgId('skipped', SAMPLES.skipped), skippedRecordId('e1', 'wh'));
    assert.equal(recordMsgId('skipped', { ...SAMPLES.skipped, replay: 'r1' }), 'e1:wh:r1:skipped');
    assert.equal(recordMsgId('received', SAMPLES.received), 'e1:obs:received');
  });

  it('records: row ids are what the sink stored before, and an attempt row id equals its msg id', () => {
    assert.equal(rejectionRowId('e1', 'verify'), 'e1:rejection:verify');
    assert.equal(duplicateRowId('e1'), 'e1:duplicate');
    assert.equal(schemaFailureRowId('e1'), 'e1:schema_failure');
    assert.equal(driftRowId('e1', '$.a'), 'e1:drift:$.a');
    assert.equal(attemptRowId('e1', 'wh', 2, 'req'), recordMsgId('attempt', attempt));
    assert.equal(attemptRowId('e1', 'wh', 2, 'req', 'r1'), 'e1:wh:r1:attempt:2:req');
    // Scenario: a record from before deliver minted request ids keeps its shorter row id.
    assert.equal(attemptRowId('e1', 'wh', 2, ''), 'e1:wh:attempt:2');
    assert.equal(skippedRowId('e1', 'wh', 'r1'), recordMsgId('skipped', { ...SAMPLES.skipped, replay: 'r1' }));
    assert.equal(receivedRowId('r1'), 'r1:received');
  });

  it('records: the replay of an attempt row comes from its row id', () => {
    assert.equal(replayOfAttemptRow('e1:wh:attempt:1', 'e1', 'wh', 1), '');
    assert.equal(replayOfAttemptRow('e1:wh:dlq-42:attempt:1', 'e1', 'wh', 1), 'dlq-42');
    assert.equal(replayOfAttemptRow('e1:wh:r:1:attempt:3', 'e1', 'wh', 3), 'r:1');
    assert.equal(replayOfAttemptRow('other', 'e1', 'wh', 1), '');
  });

  it('records: the replay of an attempt row with a request id (one row per HTTP request) comes from its row id', () => {
    const rid = '0f8c2a9e-5d1b-4c3e-9a7f-2b6d8e1c4f30';
    assert.equal(replayOfAttemptRow(`e1:wh:attempt:1:${rid}`, 'e1', 'wh', 1), '');
    assert.equal(replayOfAttemptRow(`e1:wh:dlq-42:attempt:1:${rid}`, 'e1', 'wh', 1), 'dlq-42');
    assert.equal(replayOfAttemptRow(`e1:wh:r:1:attempt:3:${rid}`, 'e1', 'wh', 3), 'r:1');
    assert.equal(replayOfAttemptRow(`e1:wh:attempt:2:${rid}`, 'e1', 'wh', 3), '', 'another attempt number');
    // The row id built by the contracts parses back.
    assert.equal(replayOfAttemptRow(attemptRowId('e1', 'wh', 3, rid, 'r:1'), 'e1', 'wh', 3), 'r:1');
  });
});
