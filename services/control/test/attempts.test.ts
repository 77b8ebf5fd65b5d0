import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attemptsSql, replayOfRow } from '@hookstream/control';

describe('control: attempts', () => {
  it('control: the replay of an attempt row comes from its row id', () => {
    assert.equal(replayOfRow('e1:wh:attempt:1', 'e1', 'wh', 1), '');
    assert.equal(replayOfRow('e1:wh:dlq-42:attempt:1', 'e1', 'wh', 1), 'dlq-42');
    assert.equal(replayOfRow('e1:wh:r:1:attempt:3', 'e1', 'wh', 3), 'r:1');
    assert.equal(replayOfRow('other', 'e1', 'wh', 1), '');
  });

  it('control: the replay of an attempt row with a request id (one row per HTTP request) comes from its row id', () => {
    const rid = '0f8c2a9e-5d1b-4c3e-9a7f-2b6d8e1c4f30';
    assert.equal(replayOfRow(`e1:wh:attempt:1:${rid}`, 'e1', 'wh', 1), '');
    assert.equal(replayOfRow(`e1:wh:dlq-42:attempt:1:${rid}`, 'e1', 'wh', 1), 'dlq-42');
    assert.equal(replayOfRow(`e1:wh:r:1:attempt:3:${rid}`, 'e1', 'wh', 3), 'r:1');
    assert.equal(replayOfRow(`e1:wh:attempt:2:${rid}`, 'e1', 'wh', 3), '', 'another attempt number');
  });

  it('control: attemptsSql quotes the event id', () => {
    assert.match(attemptsSql('hookstream', "x'y"), /WHERE event_id = 'x\\'y'/);
  });
});
