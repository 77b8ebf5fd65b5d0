import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConsumerView, defaultStallAfterMs, judgeBlocked, judgeConsumer, lastDeliveryMs, stallCheckIntervalMs } from '../src/stall.ts';

const NOW = Date.parse('2025-01-01T12:00:00.000Z');
const BOUND = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/** A consumer info as nats-server 2.10+ answers it; `quietMs` since its last delivery. */
function info(over: Partial<ConsumerView> & { quietMs?: number; maxAckPending?: number } = {}): ConsumerView {
  const { quietMs = 120_000, maxAckPending = 10, ...rest } = over;
  return {
    num_pending: 1,
    num_ack_pending: 0,
    num_waiting: 1,
    created: iso(NOW - 3_600_000),
    delivered: { consumer_seq: 40, stream_seq: 400, last_active: iso(NOW - quietMs) as unknown as number },
    ts: iso(NOW),
    config: { max_ack_pending: maxAckPending },
    ...rest,
  };
}

describe('stall verdicts', () => {
  it('stall: nothing pending is idle, whatever is unacknowledged', () => {
    assert.deepEqual(judgeConsumer(info({ num_pending: 0, num_ack_pending: 36 }), { nowMs: NOW, stallAfterMs: BOUND }), { kind: 'idle' });
  });

  it('stall: pending work, room under max_ack_pending and nothing delivered for the bound is not_delivering', () => {
    const verdict = judgeConsumer(info({ num_pending: 3, num_ack_pending: 2 }), { nowMs: NOW, stallAfterMs: BOUND });
    assert.equal(verdict.kind, 'stalled');
    assert.ok(verdict.kind === 'stalled');
    assert.equal(verdict.reason, 'not_delivering');
    assert.match(verdict.detail, /nothing delivered for 120 s with 3 pending, 2 ack pending \(max 10\), 1 pull requests waiting/);
  });

  it('stall: a delivery within the bound (to any replica) is progressing', () => {
    assert.deepEqual(judgeConsumer(info({ quietMs: 5_000 }), { nowMs: NOW, stallAfterMs: BOUND }), { kind: 'progressing' });
  });

  it('stall: the server clock may differ; the quiet time is read on the server’s own clock', () => {
    // Scenario: the server's clock is an hour ahead; it last delivered 5 s ago by its clock.
    const ahead = info({
      ts: iso(NOW + 3_600_000),
      delivered: { consumer_seq: 1, stream_seq: 1, last_active: iso(NOW + 3_595_000) as unknown as number },
    });
    assert.equal(lastDeliveryMs(ahead, NOW), NOW - 5_000);
    assert.deepEqual(judgeConsumer(ahead, { nowMs: NOW, stallAfterMs: BOUND }), { kind: 'progressing' });
  });

  it('stall: a consumer that never delivered counts from its creation', () => {
    const never = info({
      delivered: { consumer_seq: 0, stream_seq: 0, last_active: undefined as unknown as number },
      created: iso(NOW - 90_000),
    });
    assert.equal(judgeConsumer(never, { nowMs: NOW, stallAfterMs: BOUND }).kind, 'stalled');
    const young = info({
      delivered: { consumer_seq: 0, stream_seq: 0, last_active: undefined as unknown as number },
      created: iso(NOW - 1_000),
    });
    assert.equal(judgeConsumer(young, { nowMs: NOW, stallAfterMs: BOUND }).kind, 'progressing');
  });

  it('stall: without last_active (nats-server 2.9) the caller’s view of the delivered sequence decides', () => {
    const old = info({ ts: undefined, delivered: { consumer_seq: 40, stream_seq: 400, last_active: undefined as unknown as number } });
    assert.deepEqual(judgeConsumer(old, { nowMs: NOW, stallAfterMs: BOUND }), { kind: 'unknown' }, 'first look: not known yet');
    assert.equal(judgeConsumer(old, { nowMs: NOW, stallAfterMs: BOUND, seqSeenSinceMs: NOW - 61_000 }).kind, 'stalled');
    assert.equal(judgeConsumer(old, { nowMs: NOW, stallAfterMs: BOUND, seqSeenSinceMs: NOW - 10_000 }).kind, 'progressing');
  });

  it('stall: paused with pending work is stalled (paused), even if it delivered a moment ago', () => {
    const verdict = judgeConsumer(info({ paused: true, quietMs: 1_000 }), { nowMs: NOW, stallAfterMs: BOUND });
    assert.ok(verdict.kind === 'stalled');
    assert.equal(verdict.reason, 'paused');
  });

  it('stall: at max_ack_pending is blocked: held or backing off, unless the stream no longer holds the messages', () => {
    // Scenario: the chaos run on nats-server 2.9.10: 1 pending, 1 waiting pull
    // request, 36 ack pending that no longer existed; max_ack_pending 10
    // (the endpoint default), so the server would hand out nothing.
    const stuck = info({ num_pending: 1, num_ack_pending: 36, num_waiting: 1 });
    assert.deepEqual(judgeConsumer(stuck, { nowMs: NOW, stallAfterMs: BOUND }), { kind: 'blocked' });
    const verdict = judgeBlocked(stuck, 1);
    assert.ok(verdict.kind === 'stalled');
    assert.equal(verdict.reason, 'ack_pending_lost');
    assert.match(verdict.detail, /36 ack pending \(max 10\) and 1 pending, but the stream holds 1 of them: 36 no longer exist/);
    // The same counts with every message still stored: naks waiting out a backoff, or handlers holding them.
    assert.deepEqual(judgeBlocked(stuck, 37), { kind: 'progressing' });
  });

  it('stall: the default bound is twice the ack wait, at least 30 s; looks come at a quarter of it, 250 ms to 15 s', () => {
    assert.equal(defaultStallAfterMs(30_000), 60_000);
    assert.equal(defaultStallAfterMs(5_000), 30_000);
    assert.equal(stallCheckIntervalMs(60_000), 15_000);
    assert.equal(stallCheckIntervalMs(1_000), 250);
    assert.equal(stallCheckIntervalMs(100), 250);
  });
});
