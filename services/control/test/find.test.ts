import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RpcError } from '../src/errors.ts';
import { dlqSequenceOf, endpointDeliveries, searchText } from '../src/find.ts';

const attempt = (endpointId: string, atMs: number, outcome: string, nextRetryAtMs = 0, status = 0, responseExcerpt = '') => ({
  endpointId,
  attempt: 1,
  status,
  outcome,
  latencyMs: 1,
  atMs,
  nextRetryAtMs,
  responseExcerpt,
  replay: '',
  error: '',
});

describe('find', () => {
  it('find: the search text is trimmed; wildcards, control characters, empty and over-long texts are refused', () => {
    assert.equal(searchText('  evt_1 '), 'evt_1');
    for (const bad of ['', ' ', '>', 'a*', 'a\u0000b', 'x'.repeat(1025)]) {
      assert.throws(
        () => searchText(bad),
        (err: unknown) => err instanceof RpcError && /^text: /.test(err.message),
        JSON.stringify(bad.slice(0, 8)),
      );
    }
    assert.equal(searchText('é'.repeat(512)).length, 512, '1,024 bytes is the limit');
  });

  it('find: only 1 to 15 digits without a leading zero is a dead-letter sequence', () => {
    assert.equal(dlqSequenceOf('42'), 42);
    assert.equal(dlqSequenceOf('042'), undefined);
    assert.equal(dlqSequenceOf('1'.repeat(16)), undefined);
    assert.equal(dlqSequenceOf('evt_42'), undefined);
  });

  it('find: the newest attempt decides, and a later success (a replay) overrides an earlier failure', () => {
    const got = endpointDeliveries(
      [
        attempt('a', 1, 'http_5xx', 2, 503, 'down'),
        attempt('a', 3, 'success', 0, 200),
        attempt('b', 1, 'timeout', 5),
        attempt('c', 1, 'connect'),
      ],
      [],
    );
    assert.deepEqual(
      got.map((e) => [e.endpointId, e.state, e.attempts, e.nextAttemptAtMs, e.lastError]),
      [
        ['a', 'delivered', 2, 0, ''],
        ['b', 'retrying', 1, 5, 'timeout'],
        ['c', 'failed', 1, 0, 'connect'],
      ],
    );
  });

  it("find: a failed attempt without a response names deliver's recorded error", () => {
    const [got] = endpointDeliveries([{ ...attempt('d', 1, 'connect', 9), error: 'connect ECONNREFUSED 10.0.0.9:443' }], []);
    assert.equal(got?.lastError, 'connect: connect ECONNREFUSED 10.0.0.9:443');
  });
});
