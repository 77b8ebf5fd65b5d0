import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attemptsSql } from '../src/attempts.ts';

describe('control: attempts', () => {
  it('control: attemptsSql quotes the event id', () => {
    assert.match(attemptsSql('hookstream', "x'y"), /WHERE event_id = 'x\\'y'/);
  });
});
