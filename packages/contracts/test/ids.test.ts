import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  attemptRecordId,
  circuitKey,
  deadLetterMsgId,
  deadLetterReplayId,
  deliverDeadLetterMsgId,
  deliveryKey,
  dueTaskMsgId,
  duplicateNoteKey,
  endpointReplayMsgId,
  filterDeadLetterMsgId,
  replayMsgId,
  skippedRecordId,
  stageMsgId,
  taskMsgId,
} from '@hookstream/contracts';

// These ids are persisted (JetStream's duplicate window, KV keys, ClickHouse
// row ids): each assertion pins the exact string.
describe('ids', () => {
  it('ids: a stage output is {event}:{stage}; a delivery is {event}:{endpoint}[:{replay}]', () => {
    assert.equal(stageMsgId('e', 'verify'), 'e:verify');
    assert.equal(deliveryKey('e', 'ep'), 'e:ep');
    assert.equal(deliveryKey('e', 'ep', 'dlq-4'), 'e:ep:dlq-4');
  });

  it('ids: deliver put-backs, releases, attempts, skips and dead letters stem from the delivery key', () => {
    assert.equal(taskMsgId('e', 'ep', 1), 'e:ep:1');
    assert.equal(taskMsgId('e', 'ep', 1, 0, 'dlq-4'), 'e:ep:dlq-4:1');
    assert.equal(taskMsgId('e', 'ep', 1, 2, 'r1'), 'e:ep:r1:1:q2');
    assert.equal(dueTaskMsgId('e', 'ep', 1, 2, 'r1'), 'e:ep:r1:1:q2:due');
    assert.equal(attemptRecordId('e', 'ep', 2, 'req'), 'e:ep:attempt:2:req');
    assert.equal(attemptRecordId('e', 'ep', 2, 'req', 'r1'), 'e:ep:r1:attempt:2:req');
    assert.equal(skippedRecordId('e', 'ep'), 'e:ep:skipped');
    assert.equal(skippedRecordId('e', 'ep', 'r1'), 'e:ep:r1:skipped');
    assert.equal(deliverDeadLetterMsgId('e', 'ep'), 'e:ep:dlq:deliver');
    assert.equal(deliverDeadLetterMsgId('e', 'ep', 'r1'), 'e:ep:r1:dlq:deliver');
  });

  it('ids: dead letters are keyed by event and DLQ subject, by stream sequence without an event id', () => {
    const origin = { stream: 'HS_RAW', seq: 9 };
    assert.equal(deadLetterMsgId('e', 'hs.dlq.verify.s', origin), 'e:dlq:hs.dlq.verify.s');
    assert.equal(deadLetterMsgId(undefined, 'hs.dlq.verify.s', origin), 'HS_RAW:9:dlq:hs.dlq.verify.s');
    assert.equal(deadLetterMsgId('', 'hs.dlq.verify.s', origin), 'HS_RAW:9:dlq:hs.dlq.verify.s');
    assert.equal(filterDeadLetterMsgId('e', 'ep'), 'e:dlq:route:ep');
  });

  it('ids: replays never collide with the original delivery', () => {
    assert.equal(replayMsgId('0190-abc', 42), '0190-abc:replay:42');
    assert.equal(replayMsgId(undefined, 7), 'dlq-7:replay:7');
    assert.equal(deadLetterReplayId(7), 'dlq-7');
    assert.equal(endpointReplayMsgId('e1', 'wh', 'r1'), 'e1:wh:replay:r1');
  });

  it('ids: bucket keys stay KV-safe', () => {
    assert.equal(circuitKey('ep', 'host-1'), 'ep.host-1');
    assert.equal(circuitKey('e.p', 'host:1/2'), 'e_p.host_1_2');
    assert.equal(duplicateNoteKey('0190-abc_1'), 'dup/0190-abc_1');
    assert.equal(duplicateNoteKey('a.b'), `dup/sha256-${createHash('sha256').update('a.b').digest('hex')}`);
    assert.match(duplicateNoteKey('x'.repeat(129)), /^dup\/sha256-[0-9a-f]{64}$/);
  });
});
