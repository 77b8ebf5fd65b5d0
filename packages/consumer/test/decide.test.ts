import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, PermanentError } from '../src/consume.ts';
import { EnvelopeError } from '../src/envelope.ts';

const BACKOFF = [100, 200];

describe('consume loop decision', () => {
  it('decide: a resolved handler is acked, whatever the delivery count', () => {
    assert.deepEqual(decide(undefined, 1, 3, BACKOFF), { kind: 'ack' });
    assert.deepEqual(decide(undefined, 3, 3, BACKOFF), { kind: 'ack' });
  });

  it('decide: a thrown error is nak-ed with the backoff of its delivery count', () => {
    assert.deepEqual(decide({ error: new Error('down') }, 1, 5, BACKOFF), { kind: 'nak', delayMs: 100 });
    assert.deepEqual(decide({ error: new Error('down') }, 4, 5, BACKOFF), { kind: 'nak', delayMs: 200 });
    assert.deepEqual(decide({ error: 'not even an Error' }, 2, 5, BACKOFF), { kind: 'nak', delayMs: 200 });
  });

  it('decide: the last allowed delivery dead-letters with max_deliver_exceeded', () => {
    assert.deepEqual(decide({ error: new Error('down') }, 5, 5, BACKOFF), { kind: 'dead_letter', reason: 'max_deliver_exceeded' });
    assert.deepEqual(decide({ error: new Error('down') }, 9, Number.POSITIVE_INFINITY, BACKOFF), { kind: 'nak', delayMs: 200 });
  });

  it('decide: PermanentError and an undecodable body dead-letter at once', () => {
    assert.deepEqual(decide({ error: new PermanentError('no') }, 1, 5, BACKOFF), { kind: 'dead_letter', reason: 'permanent_error' });
    const body = new EnvelopeError('body', 'events.x.y', 'not JSON');
    assert.deepEqual(decide({ error: body }, 1, 5, BACKOFF), { kind: 'dead_letter', reason: 'permanent_error' });
  });
});
