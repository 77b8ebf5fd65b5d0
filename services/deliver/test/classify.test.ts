import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError, classifyStatus, describeError } from '../src/classify.ts';
import { BlockedAddressError } from '../src/ssrf.ts';

describe('classification', () => {
  it('deliver: HTTP statuses classify as the table in docs/delivery.md says', () => {
    const table: [number, string, boolean][] = [
      [200, 'success', false],
      [204, 'success', false],
      [301, 'http_4xx', false],
      [302, 'http_4xx', false],
      [400, 'http_4xx', false],
      [401, 'http_4xx', false],
      [404, 'http_4xx', false],
      [408, 'http_4xx', true],
      [410, 'http_4xx', false],
      [413, 'http_4xx', false],
      [429, 'rate_limited', true],
      [500, 'http_5xx', true],
      [502, 'http_5xx', true],
      [503, 'http_5xx', true],
      [504, 'http_5xx', true],
    ];
    for (const [status, outcome, retryable] of table) {
      const c = classifyStatus(status);
      assert.equal(c.outcome, outcome, `${status}`);
      assert.equal(c.retryable, retryable, `${status} retryable`);
    }
    assert.equal(classifyStatus(410).gone, true);
    assert.equal(classifyStatus(429).honoursRetryAfter, true);
    assert.equal(classifyStatus(503).honoursRetryAfter, true);
    assert.notEqual(classifyStatus(500).honoursRetryAfter, true);
  });

  it('deliver: errors classify as blocked, timeout, dns, tls or connect', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    assert.deepEqual(classifyError(new BlockedAddressError('x', '10.0.0.1'), false), { outcome: 'blocked', retryable: false });
    assert.equal(classifyError(new Error('aborted', { cause: new BlockedAddressError('x', '10.0.0.1') }), false).outcome, 'blocked');
    assert.equal(classifyError(coded('UND_ERR_ABORTED'), true).outcome, 'timeout');
    assert.equal(classifyError(coded('ENOTFOUND'), false).outcome, 'dns');
    assert.equal(classifyError(coded('EAI_AGAIN'), false).outcome, 'dns');
    assert.equal(classifyError(coded('ECONNREFUSED'), false).outcome, 'connect');
    assert.equal(classifyError(coded('ECONNRESET'), false).outcome, 'connect');
    assert.equal(classifyError(coded('UND_ERR_SOCKET'), false).outcome, 'connect');
    assert.equal(classifyError(new AggregateError([coded('ECONNREFUSED')]), false).outcome, 'connect');
    assert.equal(classifyError(coded('DEPTH_ZERO_SELF_SIGNED_CERT'), false).outcome, 'tls');
    assert.equal(classifyError(coded('ERR_TLS_CERT_ALTNAME_INVALID'), false).outcome, 'tls');
    assert.equal(classifyError(coded('CERT_HAS_EXPIRED'), false).outcome, 'tls');
    assert.equal(classifyError(new Error('wrapped', { cause: coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE') }), false).outcome, 'tls');
    for (const code of ['ENOTFOUND', 'ECONNREFUSED', 'CERT_HAS_EXPIRED']) assert.equal(classifyError(coded(code), false).retryable, true);
  });
});

describe('describeError', () => {
  it('deliver: an attempt without a response records why: our timeout with its limit, else the codes and the innermost message', () => {
    assert.equal(describeError(new Error('This operation was aborted'), true, 3000), 'timeout after 3000 ms');
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    });
    assert.equal(describeError(refused, false, 3000), 'connect ECONNREFUSED 127.0.0.1:9');
    const dns = Object.assign(new Error('lookup failed'), { code: 'ENOTFOUND' });
    assert.equal(describeError(dns, false, 3000), 'ENOTFOUND: lookup failed');
    assert.equal(describeError('x'.repeat(400), false, 3000).length, 300);
  });
});
