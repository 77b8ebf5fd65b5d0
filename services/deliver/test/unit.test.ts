import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AddressGuard,
  BlockedAddressError,
  CircuitBreaker,
  classifyError,
  classifyStatus,
  EndpointGates,
  endpointSlots,
  nextDelayMs,
  PROBE_WAIT_MS,
  parseCidrs,
  parseRetryAfter,
  type Resolver,
  rateHoldMs,
  unmapIPv4,
  withinRetryWindow,
} from '@hookstream/deliver';
import { parseEndpointConfig, type RetryPolicy } from '@hookstream/models';

const policy: RetryPolicy = { initialDelayMs: 5_000, maxDelayMs: 3_600_000, maxAgeMs: 72 * 3_600_000 };
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('backoff', () => {
  it('deliver: backoff is full jitter within an exponential cap', () => {
    assert.equal(
      nextDelayMs(1, policy, () => 0),
      0,
    );
    assert.equal(
      nextDelayMs(1, policy, () => 0.999_999),
      4_999,
    );
    assert.equal(
      nextDelayMs(2, policy, () => 0.5),
      5_000,
    );
    assert.equal(
      nextDelayMs(4, policy, () => 0.5),
      20_000,
    );
    for (let attempt = 1; attempt <= 12; attempt++) {
      const cap = Math.min(policy.maxDelayMs, 5_000 * 2 ** (attempt - 1));
      for (const r of [0, 0.1, 0.5, 0.9, 0.999]) {
        const d = nextDelayMs(attempt, policy, () => r);
        assert.ok(d >= 0 && d < cap, `attempt ${attempt}, r=${r}: ${d} within [0, ${cap})`);
      }
    }
  });

  it('deliver: backoff is capped at maxDelayMs, even for huge attempt numbers', () => {
    assert.equal(
      nextDelayMs(20, policy, () => 0.5),
      1_800_000,
    );
    assert.equal(
      nextDelayMs(5_000, policy, () => 0.5),
      1_800_000,
    );
  });

  it('deliver: backoff never goes below Retry-After', () => {
    assert.equal(
      nextDelayMs(1, policy, () => 0.1, 30_000),
      30_000,
    );
    assert.equal(
      nextDelayMs(10, policy, () => 0.9, 30_000),
      Math.floor(0.9 * 2_560_000),
    );
  });

  it('deliver: Retry-After parses delta seconds and HTTP-dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2_000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: now');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter('1.5', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('deliver: the retry window closes maxAgeMs after receipt', () => {
    const p = { ...policy, maxAgeMs: 10_000 };
    assert.equal(withinRetryWindow(0, 5_000, 5_000, p), true);
    assert.equal(withinRetryWindow(0, 5_000, 5_001, p), false);
  });
});

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

describe('circuit breaker', () => {
  const circuit = { failureThreshold: 3, openMs: 1_000 };

  it('deliver: the circuit opens after N consecutive failures, probes once after openMs, and closes on success', () => {
    const b = new CircuitBreaker();
    b.onFailure(0, circuit);
    b.onFailure(1, circuit);
    b.onSuccess(); // resets the run
    b.onFailure(2, circuit);
    b.onFailure(3, circuit);
    assert.equal(b.state(3), 'closed');
    assert.deepEqual(b.admit(3, 50), { kind: 'send', probe: false });
    b.onFailure(10, circuit);
    assert.equal(b.state(10), 'open');
    assert.deepEqual(b.admit(400, 50), { kind: 'wait', delayMs: 610 });
    assert.equal(b.state(1_010), 'half-open');
    assert.deepEqual(b.admit(1_010, 50), { kind: 'send', probe: true });
    assert.deepEqual(b.admit(1_011, 50), { kind: 'wait', delayMs: 50 }, 'one probe at a time');
    b.onSuccess();
    assert.equal(b.state(1_020), 'closed');
    assert.deepEqual(b.admit(1_020, 50), { kind: 'send', probe: false });
  });

  it('deliver: a failed probe reopens the circuit for openMs; a cancelled probe lets another through', () => {
    const b = new CircuitBreaker();
    for (let i = 0; i < 3; i++) b.onFailure(0, circuit);
    assert.deepEqual(b.admit(1_000, 50), { kind: 'send', probe: true });
    b.onFailure(1_100, circuit);
    assert.equal(b.state(1_100), 'open');
    assert.deepEqual(b.admit(1_500, 50), { kind: 'wait', delayMs: 600 });
    assert.deepEqual(b.admit(2_100, 50), { kind: 'send', probe: true });
    b.cancelProbe();
    assert.deepEqual(b.admit(2_101, 50), { kind: 'send', probe: true });
  });
});

describe('circuit gates and rate holds', () => {
  const endpoint = (extra: object = {}) =>
    parseEndpointConfig({ id: 'ep', url: 'http://127.0.0.1/', secrets: [{ id: 's', value: SECRET }], maxConcurrency: 2, ...extra });

  it('deliver: gates do not gate concurrency (the consumer does) and count what is in flight', () => {
    const gates = new EndpointGates(
      () => 0,
      () => 0.5,
    );
    const ep = endpoint();
    const passes = [gates.admit(ep), gates.admit(ep), gates.admit(ep)];
    assert.ok(passes.every((p) => p.kind === 'send'));
    assert.equal(gates.inFlight('ep'), 3);
    const [a] = passes;
    if (a?.kind === 'send') a.pass.done('success', 5);
    if (a?.kind === 'send') a.pass.done('success', 5); // settling twice is harmless
    assert.equal(gates.inFlight('ep'), 2);
  });

  it('deliver: gates open the circuit on failures and defer for the rest of openMs plus jitter', () => {
    let now = 0;
    const gates = new EndpointGates(
      () => now,
      () => 0,
    );
    const ep = endpoint({ circuit: { failureThreshold: 2, openMs: 1_000 } });
    for (let i = 0; i < 2; i++) {
      const a = gates.admit(ep);
      if (a.kind === 'send') a.pass.done('failure', 10);
    }
    assert.equal(gates.circuitState('ep'), 'open');
    now = 300;
    const w = gates.admit(ep);
    assert.ok(w.kind === 'wait' && w.delayMs === 700, JSON.stringify(w));
    now = 1_000;
    const probe = gates.admit(ep);
    assert.equal(probe.kind, 'send');
    const held = gates.admit(ep);
    assert.ok(
      held.kind === 'wait' && held.delayMs >= PROBE_WAIT_MS.min && held.delayMs <= PROBE_WAIT_MS.max,
      'no second request while the probe is out',
    );
    if (probe.kind === 'send') probe.pass.done('success', 10);
    assert.equal(gates.circuitState('ep'), 'closed');
  });

  it('deliver: a rate limit holds each slot slots/rate seconds from the start of its request', () => {
    // 2 slots at 4/s: each slot is kept 500 ms from its request's start.
    const ep = endpoint({ maxConcurrency: 2, rateLimitPerSecond: 4 });
    assert.equal(rateHoldMs(ep, 1_000, 1_020), 480);
    assert.equal(rateHoldMs(ep, 1_000, 1_700), 0, 'a request slower than the pace is not held');
    assert.equal(rateHoldMs(endpoint(), 1_000, 1_020), 0, 'no rate limit, no hold');
    assert.equal(rateHoldMs(endpoint({ ordering: 'strict', rateLimitPerSecond: 4 }), 1_000, 1_000), 250, 'strict: one slot');
    // Ordered by a key: 4 lanes of one slot each, so each request paces 4 / rate.
    const keyed = endpoint({ ordering: 'strict', orderingKey: { from: 'json', path: '$.c' }, orderingLanes: 4, rateLimitPerSecond: 2 });
    assert.equal(rateHoldMs(keyed, 1_000, 1_000), 2_000, 'the rate holds over all lanes together');
    assert.equal(endpointSlots(endpoint({ ordering: 'strict', maxConcurrency: 8 })), 1);
    assert.equal(endpointSlots(endpoint({ maxConcurrency: 8 })), 8);
  });
});

describe('SSRF guard', () => {
  const resolver =
    (table: Record<string, string[]>): Resolver =>
    async (host) => {
      const answers = table[host];
      if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  it('deliver: the guard refuses loopback, private, link-local, CGNAT, metadata, multicast and mapped addresses by default', () => {
    const guard = new AddressGuard();
    for (const address of [
      '127.0.0.1',
      '127.8.9.10',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:10.0.0.1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '[::1]',
    ]) {
      assert.equal(guard.allows(address), false, address);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(guard.allows(address), true, address);
    }
    assert.equal(unmapIPv4('::ffff:a9fe:a9fe'), '169.254.169.254');
  });

  it('deliver: vet refuses literal IPs and names resolving (even partly) to private addresses', async () => {
    const guard = new AddressGuard(
      [],
      resolver({ 'internal.example': ['10.0.0.1'], 'mixed.example': ['93.184.216.34', '10.0.0.1'], 'ok.example': ['93.184.216.34'] }),
    );
    await assert.rejects(guard.vet('169.254.169.254'), BlockedAddressError);
    await assert.rejects(guard.vet('10.0.0.1'), BlockedAddressError);
    await assert.rejects(guard.vet('[::ffff:10.0.0.1]'), BlockedAddressError);
    await assert.rejects(
      guard.vet('internal.example'),
      (err: Error) => err instanceof BlockedAddressError && /10\.0\.0\.1/.test(err.message),
    );
    await assert.rejects(guard.vet('mixed.example'), BlockedAddressError);
    assert.deepEqual(await guard.vet('ok.example'), { address: '93.184.216.34', family: 4 });
    await assert.rejects(guard.vet('nowhere.example'), { code: 'ENOTFOUND' });
  });

  it('deliver: 127.0.0.1 passes only when allow-listed', async () => {
    await assert.rejects(new AddressGuard().vet('127.0.0.1'), BlockedAddressError);
    const guard = new AddressGuard(['127.0.0.1/32'], resolver({ localhost: ['127.0.0.1'] }));
    assert.deepEqual(await guard.vet('127.0.0.1'), { address: '127.0.0.1', family: 4 });
    assert.deepEqual(await guard.vet('localhost'), { address: '127.0.0.1', family: 4 });
    await assert.rejects(guard.vet('127.0.0.2'), BlockedAddressError);
    await assert.rejects(guard.vet('169.254.169.254'), BlockedAddressError);
  });

  it('deliver: allow-list CIDRs are checked', () => {
    assert.throws(() => parseCidrs(['10.0.0.0/33']), /not a CIDR/);
    assert.throws(() => parseCidrs(['example.com/8']), /not a CIDR/);
    assert.throws(() => parseCidrs(['10.0.0.0/']), /not a CIDR/);
    parseCidrs(['10.0.0.0/8', '::1', 'fd00::/8']);
  });
});
