import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AttemptRecord,
  attemptRecordId,
  DELIVERY_PROGRESS_HEADERS,
  deliverDeadLetterMsgId,
  deliveryKey,
  Header,
  type SkippedRecord,
  skippedRecordId,
  TaskHeader,
  taskMsgId,
} from '@hookstream/contracts';
import type { SendRequest, SendResult } from '@hookstream/deliver';
import { type EndpointConfig, parseEndpointConfig } from '@hookstream/models';
import {
  activeSecrets,
  type DeliverDeps,
  type DeliveredMarker,
  type HeadState,
  handleTask,
  type NextTask,
  releaseWhenDue,
  type TaskMessage,
} from '../src/handler.ts';
import { EndpointGates } from '../src/throttle.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NOW = 1_700_000_000_000;

function task(headers: Record<string, string> = {}): TaskMessage {
  const all: Record<string, string> = {
    [Header.eventId]: 'evt-1',
    [Header.source]: 'shop',
    [Header.receivedAt]: String(NOW - 1_000),
    [Header.eventType]: 'order.created',
    [Header.endpointId]: 'ep',
    ...headers,
  };
  return { subject: 'hs.deliver.ep', data: new TextEncoder().encode('{"a":1}'), header: (n) => all[n] };
}

function fakes(endpoint: EndpointConfig | undefined, answer: (req: SendRequest) => SendResult) {
  const sent: SendRequest[] = [];
  const records: AttemptRecord[] = [];
  // Records republished from a marker (not new requests).
  const recordedAgain: AttemptRecord[] = [];
  const skipped: SkippedRecord[] = [];
  const putBacks: NextTask[] = [];
  const deadLetters: { reason: string; detail: string }[] = [];
  const gone: string[] = [];
  const heads = new Map<string, HeadState>();
  // Markers by delivery key; `log` is the order of the I/O that matters for the last hop.
  const delivered = new Map<string, DeliveredMarker>();
  const suppressed: { key: string; marker: DeliveredMarker }[] = [];
  const log: string[] = [];
  let requests = 0;
  const deps: DeliverDeps = {
    endpoint: (id) => (endpoint?.id === id ? endpoint : undefined),
    disabled: (id) => gone.includes(id),
    markGone: async (id) => {
      gone.push(id);
    },
    gates: new EndpointGates(
      () => NOW,
      () => 0.5,
    ),
    heads: {
      get: async (id) => heads.get(id),
      put: async (id, head) => {
        heads.set(id, head);
      },
    },
    delivered: {
      get: async (t) => delivered.get(deliveryKey(t.eventId, t.endpointId, t.replayId)),
      put: (t, marker) => {
        log.push('marker');
        delivered.set(deliveryKey(t.eventId, t.endpointId, t.replayId), marker);
      },
    },
    suppressed: (t, marker) => {
      suppressed.push({ key: deliveryKey(t.eventId, t.endpointId, t.replayId), marker });
    },
    requestId: () => `req-${++requests}`,
    sender: {
      send: async (req) => {
        log.push('post');
        sent.push(req);
        return answer(req);
      },
    },
    recordAttempt: async (r, again) => {
      log.push(again ? 'record again' : 'record');
      (again ? recordedAgain : records).push(r);
    },
    sleep: async (ms) => {
      log.push(`sleep ${ms}`);
    },
    recordSkipped: async (r) => {
      skipped.push(r);
    },
    putBack: async (_m, _t, next) => {
      putBacks.push(next);
    },
    deadLetter: async (_m, _t, reason, detail) => {
      deadLetters.push({ reason, detail });
    },
    defer: async (_m, _t, delayMs) => ({ kind: 'nak', delayMs }),
    now: () => NOW,
    random: () => 0.5,
    userAgent: 'hookstream/0.1',
    maxTimeoutMs: 15_000,
  };
  return { deps, sent, records, recordedAgain, skipped, putBacks, deadLetters, gone, heads, delivered, suppressed, log };
}

const ok = (status: number, extra: Partial<{ retryAfter: string; excerpt: string }> = {}): SendResult => ({
  kind: 'response',
  status,
  retryAfter: extra.retryAfter,
  excerpt: extra.excerpt ?? '',
  latencyMs: 12,
});
const endpoint = (extra: object = {}) =>
  parseEndpointConfig({ id: 'ep', url: 'https://hooks.example/in', secrets: [{ id: 's', value: SECRET }], ...extra });

describe('deliver handler', () => {
  it('deliver: a task not yet due is moved to the retry subject (it holds no slot), with no attempt', async () => {
    const f = fakes(endpoint(), () => ok(200));
    const outcome = await handleTask(task({ 'hs-attempt': '2', 'hs-not-before': String(NOW + 1_500) }), f.deps);
    assert.deepEqual(outcome, { kind: 'ack' });
    // requeues + 1: a new Nats-Msg-Id, so the stream's duplicate window cannot drop the move.
    assert.deepEqual(f.putBacks, [{ attemptsMade: 2, notBeforeMs: NOW + 1_500, requeues: 1 }]);
    assert.equal(f.sent.length, 0);
  });

  it('deliver: the retry consumer naks a task until it is due, then releases it to its endpoint', async () => {
    const released: string[] = [];
    const deps = {
      now: () => NOW,
      release: async (_m: TaskMessage, t: { eventId: string }) => {
        released.push(t.eventId);
      },
    };
    assert.deepEqual(await releaseWhenDue(task({ 'hs-attempt': '1', 'hs-not-before': String(NOW + 900) }), deps), {
      kind: 'nak',
      delayMs: 900,
    });
    assert.deepEqual(released, []);
    assert.deepEqual(await releaseWhenDue(task({ 'hs-attempt': '1', 'hs-not-before': String(NOW) }), deps), { kind: 'ack' });
    assert.deepEqual(released, ['evt-1']);
  });

  it('deliver: with a rate limit the ack is held so the slot paces the endpoint', async () => {
    let now = NOW;
    const f = fakes(endpoint({ maxConcurrency: 2, rateLimitPerSecond: 10 }), () => {
      now += 30;
      return ok(200);
    });
    f.deps = { ...f.deps, now: () => now };
    // 2 slots at 10/s: each slot is kept 200 ms from its request's start; the request took 30 ms.
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack', holdMs: 170 });
  });

  it('deliver: a strictly ordered endpoint keeps a failed task at the head: attempts in the head state, a nak for the backoff', async () => {
    let status = 503;
    const f = fakes(endpoint({ ordering: 'strict', retry: { initialDelayMs: 1_000 } }), () => ok(status));
    const first = await handleTask(task(), f.deps);
    assert.deepEqual(first, { kind: 'nak', delayMs: 500 }, 'attempt 1: cap 1 s, jitter 0.5');
    assert.deepEqual(f.putBacks, [], 'never moved behind later tasks');
    assert.deepEqual(f.heads.get('ep'), { key: 'evt-1:ep', attempts: 1, notBeforeMs: NOW + 500 });
    // Redelivered early (e.g. after a crash): it waits out the rest in place.
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'nak', delayMs: 500 });
    assert.equal(f.sent.length, 1);
    // Due: attempt 2, numbered from the head state.
    f.deps = { ...f.deps, now: () => NOW + 500 };
    status = 200;
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack' });
    assert.equal(f.records[1]?.attempt, 2);
    // Another task is not confused by the stale head state.
    assert.deepEqual(await handleTask(task({ [Header.eventId]: 'evt-2' }), f.deps), { kind: 'ack' });
    assert.equal(f.records[2]?.attempt, 1);
  });

  it('deliver: an open circuit holds a strictly ordered task in place with a nak, never a put-back', async () => {
    const f = fakes(endpoint({ ordering: 'strict', circuit: { failureThreshold: 1, openMs: 10_000 }, retry: { initialDelayMs: 1 } }), () =>
      ok(500),
    );
    await handleTask(task(), f.deps);
    const held = await handleTask(task({ [Header.eventId]: 'evt-2' }), f.deps);
    assert.equal(held.kind, 'nak');
    assert.equal(f.sent.length, 1);
    assert.deepEqual(f.putBacks, []);
  });

  it('deliver: a retryable failure puts the task back with hs-attempt + 1 and the backoff as hs-not-before', async () => {
    const f = fakes(endpoint({ retry: { initialDelayMs: 1_000 } }), () => ok(503, { retryAfter: '7' }));
    const outcome = await handleTask(task({ 'hs-attempt': '2' }), f.deps);
    assert.deepEqual(outcome, { kind: 'ack' });
    // attempt 3: cap 4 s, jitter 0.5 -> 2 s, but Retry-After says 7 s.
    assert.deepEqual(f.putBacks, [{ attemptsMade: 3, notBeforeMs: NOW + 7_000, requeues: 0 }]);
    assert.equal(f.records[0]?.attempt, 3);
    assert.equal(f.records[0]?.outcome, 'http_5xx');
    assert.equal(f.records[0]?.next_retry_at, NOW + 7_000);
    assert.equal(f.records[0]?.e2e_ms, 1_000);
  });

  it('deliver: past maxAgeMs a retryable failure is dead-lettered as retries_exhausted', async () => {
    const f = fakes(endpoint({ retry: { initialDelayMs: 10_000, maxAgeMs: 2_000 } }), () => ok(500));
    await handleTask(task(), f.deps);
    assert.deepEqual(
      f.deadLetters.map((d) => d.reason),
      ['retries_exhausted'],
    );
    assert.equal(f.records[0]?.next_retry_at, null);
    assert.equal(f.putBacks.length, 0);
  });

  it('deliver: a replayed task gets a fresh retry window from hs-replayed-at and marks its records with the replay', async () => {
    // The event was received 4 days ago; the endpoint gives up after 72 h. The
    // original delivery is long exhausted, but a replay made now retries.
    const days4 = 4 * 86_400_000;
    const replayed = { [Header.receivedAt]: String(NOW - days4), [Header.replay]: 'dlq-42', [Header.replayedAt]: String(NOW - 1_000) };
    const f = fakes(endpoint({ retry: { initialDelayMs: 1_000 } }), () => ok(503));
    assert.deepEqual(await handleTask(task(replayed), f.deps), { kind: 'ack' });
    assert.equal(f.sent.length, 1);
    assert.deepEqual(f.putBacks, [{ attemptsMade: 1, notBeforeMs: NOW + 500, requeues: 0 }]);
    assert.equal(f.records[0]?.attempt, 1);
    assert.equal(f.records[0]?.replay, 'dlq-42');
    assert.equal(f.records[0]?.e2e_ms, days4, 'end-to-end time still counts from ingest');
    // Its put-back (attempt 1 made) is still within the replay's window.
    const again = fakes(endpoint({ retry: { initialDelayMs: 1_000 } }), () => ok(200));
    await handleTask(task({ ...replayed, 'hs-attempt': '1' }), again.deps);
    assert.equal(again.sent.length, 1);
    assert.equal(again.records[0]?.attempt, 2);
    // The same task without the replay headers is out of its window: skipped without a request.
    const stale = fakes(endpoint(), () => ok(200));
    await handleTask(task({ [Header.receivedAt]: String(NOW - days4), 'hs-attempt': '1' }), stale.deps);
    assert.equal(stale.sent.length, 0);
    assert.deepEqual(
      stale.deadLetters.map((d) => d.reason),
      ['retries_exhausted'],
    );
    assert.equal(stale.skipped[0]?.replay, undefined);
  });

  it('deliver: ids of a replayed task never collide with the original delivery', () => {
    assert.equal(taskMsgId('e', 'ep', 1), 'e:ep:1');
    assert.equal(taskMsgId('e', 'ep', 1, 0, 'dlq-4'), 'e:ep:dlq-4:1');
    assert.equal(taskMsgId('e', 'ep', 1, 2, 'r1'), 'e:ep:r1:1:q2');
    assert.equal(attemptRecordId('e', 'ep', 1, 'r-9'), 'e:ep:attempt:1:r-9');
    assert.equal(attemptRecordId('e', 'ep', 1, 'r-9', 'dlq-4'), 'e:ep:dlq-4:attempt:1:r-9');
    assert.equal(deliverDeadLetterMsgId('e', 'ep'), 'e:ep:dlq:deliver');
    assert.equal(deliverDeadLetterMsgId('e', 'ep', 'r1'), 'e:ep:r1:dlq:deliver');
    assert.equal(skippedRecordId('e', 'ep', 'r1'), 'e:ep:r1:skipped');
    assert.deepEqual([...DELIVERY_PROGRESS_HEADERS], [TaskHeader.attempt, TaskHeader.notBefore, TaskHeader.requeues]);
  });

  it('deliver: 410 marks the endpoint gone and dead-letters endpoint_gone', async () => {
    const f = fakes(endpoint(), () => ok(410));
    await handleTask(task(), f.deps);
    assert.deepEqual(f.gone, ['ep']);
    assert.deepEqual(
      f.deadLetters.map((d) => d.reason),
      ['endpoint_gone'],
    );
  });

  it('deliver: deleted, disabled and secret-less endpoints are dead-lettered with a skipped record and no request', async () => {
    for (const [ep, reason] of [
      [undefined, 'endpoint_deleted'],
      [endpoint({ enabled: false }), 'endpoint_disabled'],
      [endpoint({ secrets: [{ id: 'old', value: SECRET, notAfterMs: NOW - 1 }] }), 'no_active_secret'],
    ] as const) {
      const f = fakes(ep, () => ok(200));
      assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack' });
      assert.equal(f.sent.length, 0);
      assert.deepEqual(
        f.deadLetters.map((d) => d.reason),
        [reason],
      );
      assert.equal(f.skipped[0]?.reason, reason);
    }
  });

  it('deliver: a task for an open circuit is deferred, not attempted', async () => {
    const f = fakes(endpoint({ circuit: { failureThreshold: 1, openMs: 10_000 } }), () => ok(500));
    await handleTask(task(), f.deps);
    const second = await handleTask(task({ [Header.eventId]: 'evt-2' }), f.deps);
    assert.equal(second.kind, 'nak');
    assert.equal(f.sent.length, 1);
  });

  it('deliver: each request carries its request id, the one its attempt row has', async () => {
    assert.throws(() => endpoint({ headers: { 'Hookstream-Request-Id': 'spoofed' } }), /is set by hookstream/, 'no endpoint may set it');
    const f = fakes(endpoint(), () => ok(200));
    await handleTask(task(), f.deps);
    assert.equal(f.sent[0]?.headers['hookstream-request-id'], 'req-1');
    assert.equal(f.records[0]?.request_id, 'req-1');
  });

  it('deliver: a 2xx publishes the delivered marker, carrying the attempt record, before the record and the ack', async () => {
    const f = fakes(endpoint(), () => ok(200));
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack' });
    // The outcome (and so the ack) comes after everything in the log.
    assert.deepEqual(f.log, ['post', 'marker', 'record']);
    const marker = f.delivered.get('evt-1:ep');
    assert.deepEqual({ ...marker, record: undefined }, { request_id: 'req-1', attempt: 1, at: NOW, record: undefined });
    assert.deepEqual(marker?.record, f.records[0]);
    assert.equal(f.records[0]?.request_id, 'req-1');
  });

  it('deliver: an attempt record that cannot be stored at once is tried again, not the request', async () => {
    // Scenario: the obs stream is electing a leader ("no responders") right
    // after the subscriber answered 200; it has one again 2 s later.
    const f = fakes(endpoint(), () => ok(200));
    let fails = 2;
    const record = f.deps.recordAttempt;
    f.deps = {
      ...f.deps,
      recordAttempt: async (r, again) => {
        if (fails-- > 0) throw new Error('no responders');
        await record(r, again);
      },
    };
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack' });
    assert.equal(f.sent.length, 1, 'one request');
    assert.deepEqual(f.log, ['post', 'marker', 'sleep 1000', 'sleep 2000', 'record again'], 'the third try, marked as not a new request');
    assert.equal(f.recordedAgain.length, 1);
  });

  it('deliver: a record never stored makes the task come back, and the redelivery stores the record from the marker without a request', async () => {
    const f = fakes(endpoint(), () => ok(200));
    const record = f.deps.recordAttempt;
    let down = true;
    f.deps = {
      ...f.deps,
      recordAttempt: async (r, again) => {
        if (down) throw new Error('no responders');
        await record(r, again);
      },
    };
    await assert.rejects(handleTask(task(), f.deps), /no responders/, 'the worker redelivers the task');
    assert.equal(f.records.length, 0);
    down = false;
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack' });
    assert.equal(f.sent.length, 1, 'no second request');
    assert.equal(f.records.length, 0, 'no new attempt');
    assert.deepEqual(
      f.recordedAgain.map((r) => [r.request_id, r.attempt, r.outcome]),
      [['req-1', 1, 'success']],
      'the one request has its record, under its own id',
    );
    assert.equal(f.suppressed.length, 1);
  });

  it('deliver: a redelivered task whose delivery has a marker is acked without a request and reported', async () => {
    // Scenario: the first copy got a 200 and its marker; the broker lost the
    // ack (or a work queue stored a republished copy) and hands it out again.
    const f = fakes(endpoint(), () => ok(200));
    await handleTask(task(), f.deps);
    assert.equal(f.sent.length, 1);
    assert.deepEqual(await handleTask(task(), f.deps), { kind: 'ack' });
    assert.deepEqual(await handleTask(task({ 'hs-attempt': '3' }), f.deps), { kind: 'ack' }, 'any attempt number of it');
    assert.equal(f.sent.length, 1, 'no second POST');
    assert.equal(f.records.length, 1, 'no attempt record for a request not made');
    assert.equal(f.recordedAgain.length, 2, "the first request's record, stored again under its id (kept once)");
    assert.deepEqual(
      f.suppressed.map((d) => [d.key, d.marker.request_id]),
      [
        ['evt-1:ep', 'req-1'],
        ['evt-1:ep', 'req-1'],
      ],
    );
  });

  it('deliver: a task without a marker is POSTed: another event, a replay of the delivered one, and a delivery that failed', async () => {
    let status = 503;
    const f = fakes(endpoint({ retry: { initialDelayMs: 1_000 } }), () => ok(status));
    await handleTask(task(), f.deps);
    assert.equal(f.delivered.size, 0, 'no marker for a failure');
    status = 200;
    await handleTask(task({ 'hs-attempt': '1' }), f.deps);
    await handleTask(task({ [Header.eventId]: 'evt-2' }), f.deps);
    // A replay is a new delivery (its own key), even of a delivered event.
    await handleTask(task({ [Header.replay]: 'dlq-7', [Header.replayedAt]: String(NOW) }), f.deps);
    assert.equal(f.sent.length, 4);
    assert.deepEqual([...f.delivered.keys()].sort(), ['evt-1:ep', 'evt-1:ep:dlq-7', 'evt-2:ep']);
    assert.deepEqual(f.suppressed, []);
  });

  it('deliver: a marker is found before any other step: no dead letter, put-back or head state for a delivered task', async () => {
    const f = fakes(endpoint({ ordering: 'strict' }), () => ok(200));
    await handleTask(task(), f.deps);
    // The endpoint is deleted since; a copy of the delivered task is still just acked.
    f.deps = { ...f.deps, endpoint: () => undefined };
    assert.deepEqual(await handleTask(task({ 'hs-not-before': String(NOW + 60_000) }), f.deps), { kind: 'ack' });
    assert.deepEqual(f.deadLetters, []);
    assert.deepEqual(f.putBacks, []);
    assert.equal(f.suppressed.length, 1);
  });

  it('deliver: each request gets its own request id, so an attempt repeated after a crash is a record of its own', async () => {
    // Scenario: attempt 1 got a 200 and its record, but deliver died before
    // the marker was stored; the redelivered task makes attempt 1 again.
    const f = fakes(endpoint(), () => ok(200));
    f.deps = { ...f.deps, delivered: { get: async () => undefined, put: () => undefined } };
    await handleTask(task(), f.deps);
    await handleTask(task(), f.deps);
    assert.deepEqual(
      f.records.map((r) => [r.attempt, r.request_id]),
      [
        [1, 'req-1'],
        [1, 'req-2'],
      ],
    );
    assert.notEqual(
      attemptRecordId('evt-1', 'ep', 1, f.records[0]?.request_id ?? ''),
      attemptRecordId('evt-1', 'ep', 1, f.records[1]?.request_id ?? ''),
    );
  });

  it('deliver: a bucket that cannot be read makes the handler throw (the task is redelivered, not POSTed blind)', async () => {
    const f = fakes(endpoint(), () => ok(200));
    f.deps = {
      ...f.deps,
      delivered: {
        get: async () => {
          throw new Error('no responders');
        },
        put: () => undefined,
      },
    };
    await assert.rejects(handleTask(task(), f.deps), /no responders/);
    assert.equal(f.sent.length, 0);
  });

  it('deliver: signing uses only the secrets active now', () => {
    const secrets = [
      { id: 'old', value: 'whsec_a', notAfterMs: NOW },
      { id: 'cur', value: 'whsec_b' },
      { id: 'next', value: 'whsec_c', notBeforeMs: NOW + 1 },
    ];
    assert.deepEqual(activeSecrets(secrets, NOW), ['whsec_b']);
    assert.deepEqual(activeSecrets(secrets, NOW - 1), ['whsec_a', 'whsec_b']);
  });
});
