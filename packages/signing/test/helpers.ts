import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { it } from 'node:test';
import {
  type RejectionReason,
  type SchemeConfig,
  type Secret,
  type VerifyInput,
  type VerifyResult,
  verifySignature,
} from '@hookstream/signing';

/** Header values as a sender would send them. */
export type Headers = Readonly<Record<string, string>>;

/** A case-insensitive lookup over `headers`, as the ingest service provides (keys lower-cased once). */
export function lookup(headers: Headers): (name: string) => string | undefined {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => map.get(name.toLowerCase());
}

/** A {@link VerifyInput} for `body` (a string is taken as its UTF-8 bytes). */
export function input(body: string | Uint8Array, headers: Headers, nowMs: number): VerifyInput {
  return { body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body, header: lookup(headers), nowMs };
}

export function assertAccepted(result: VerifyResult, secretId: string | undefined): void {
  assert.deepEqual(result, { ok: true, secretId });
}

/** Asserts a rejection for `reason` whose detail mentions none of `secretsOrSignatures`. */
export function assertRejected(result: VerifyResult, reason: RejectionReason, ...secretsOrSignatures: string[]): void {
  assert.equal(result.ok, false, `expected ${reason}, got ${JSON.stringify(result)}`);
  if (result.ok) return;
  assert.equal(result.reason, reason, result.detail);
  assert.ok(result.detail.length > 0 && result.detail.length < 200, 'detail is a short sentence');
  for (const s of secretsOrSignatures) assert.ok(!result.detail.includes(s), `detail leaks ${s}`);
}

/** Returns `headers` with every name rewritten by `rename` (to test case variations). */
export function renameHeaders(headers: Headers, rename: (name: string) => string): Headers {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [rename(k), v]));
}

export const HOUR_MS = 3_600_000;
/** A fixed "now": 2024-06-01T12:00:00Z. */
export const NOW_S = 1_717_243_200;
export const NOW_MS = NOW_S * 1000;

/** A body that a JSON parse + stringify round trip changes (spacing, unicode, `1.50`). */
export const TRICKY_BODY = '{ "a" : "caf\u00e9 \u2615" ,\n"b":1.50 }';

/** Signs `body` at `timestampS` with `secret` the way the provider does, returning the headers it would send. */
export type Signer = (secret: string, body: string, timestampS: number) => Headers | Promise<Headers>;

/**
 * Registers the cases every scheme must pass: tampered body, wrong secret,
 * rotation windows, header-name case and a body that re-serialising breaks.
 * `secrets` are two valid secret values for the scheme (old, new).
 */
export function commonCases(label: string, scheme: SchemeConfig, sign: Signer, secrets: readonly [string, string]): void {
  const [oldValue, newValue] = secrets;
  const body = '{"id":"evt_1","type":"thing.happened"}';

  it(`signing: ${label} rejects a tampered body as bad_signature`, async () => {
    const headers = await sign(newValue, body, NOW_S);
    assertRejected(
      verifySignature(scheme, input(body.replace('evt_1', 'evt_2'), headers, NOW_MS), [{ id: 'k', value: newValue }]),
      'bad_signature',
      newValue,
    );
  });

  it(`signing: ${label} rejects a signature made with another secret as bad_signature`, async () => {
    const headers = await sign(oldValue, body, NOW_S);
    const result = verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: newValue }]);
    assertRejected(result, 'bad_signature', newValue, oldValue);
  });

  it(`signing: ${label} accepts old and new secrets while a rotation overlaps`, async () => {
    // Scenario: the new secret became active an hour ago; the old one stays active for another hour.
    const rotation: Secret[] = [
      { id: 'old', value: oldValue, notAfterMs: NOW_MS + HOUR_MS },
      { id: 'new', value: newValue, notBeforeMs: NOW_MS - HOUR_MS },
    ];
    const withOld = await sign(oldValue, body, NOW_S);
    const withNew = await sign(newValue, body, NOW_S);
    assertAccepted(verifySignature(scheme, input(body, withOld, NOW_MS), rotation), 'old');
    assertAccepted(verifySignature(scheme, input(body, withNew, NOW_MS), rotation), 'new');
  });

  it(`signing: ${label} stops accepting the old secret once its window has ended`, async () => {
    const rotation: Secret[] = [
      { id: 'old', value: oldValue, notAfterMs: NOW_MS - 1 },
      { id: 'new', value: newValue, notBeforeMs: NOW_MS - HOUR_MS },
    ];
    const withOld = await sign(oldValue, body, NOW_S);
    assertRejected(verifySignature(scheme, input(body, withOld, NOW_MS), rotation), 'bad_signature', oldValue, newValue);
    const onlyExpired: Secret[] = [{ id: 'old', value: oldValue, notAfterMs: NOW_MS - 1 }];
    assertRejected(verifySignature(scheme, input(body, withOld, NOW_MS), onlyExpired), 'no_secret', oldValue);
    const notYet: Secret[] = [{ id: 'next', value: oldValue, notBeforeMs: NOW_MS + 1 }];
    assertRejected(verifySignature(scheme, input(body, withOld, NOW_MS), notYet), 'no_secret', oldValue);
  });

  it(`signing: ${label} finds its headers whatever their case`, async () => {
    const headers = await sign(newValue, body, NOW_S);
    const variants: ((name: string) => string)[] = [
      (n) => n.toLowerCase(),
      (n) => n.toUpperCase(),
      (n) => n.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
    ];
    for (const rename of variants) {
      assertAccepted(verifySignature(scheme, input(body, renameHeaders(headers, rename), NOW_MS), [{ id: 'k', value: newValue }]), 'k');
    }
  });

  it(`signing: ${label} verifies the raw bytes of a body that re-serialising would change`, async () => {
    const headers = await sign(newValue, TRICKY_BODY, NOW_S);
    const secret = [{ id: 'k', value: newValue }];
    assertAccepted(verifySignature(scheme, input(Buffer.from(TRICKY_BODY, 'utf8'), headers, NOW_MS), secret), 'k');
    const reserialised = JSON.stringify(JSON.parse(TRICKY_BODY));
    assert.notEqual(reserialised, TRICKY_BODY);
    assertRejected(verifySignature(scheme, input(reserialised, headers, NOW_MS), secret), 'bad_signature');
  });
}

/**
 * Registers the timestamp cases for a scheme that signs one: old and future
 * timestamps beyond the tolerance are stale even with a valid signature,
 * and the edge of the window is still accepted.
 */
export function timestampCases(label: string, scheme: SchemeConfig, sign: Signer, secret: string, toleranceS: number): void {
  const body = '{"id":"evt_1"}';
  const secrets = [{ id: 'k', value: secret }];

  it(`signing: ${label} rejects stale and future timestamps`, async () => {
    for (const offset of [-(toleranceS + 1), toleranceS + 1, -86_400, 86_400]) {
      const headers = await sign(secret, body, NOW_S + offset);
      assertRejected(verifySignature(scheme, input(body, headers, NOW_MS), secrets), 'stale_timestamp', secret);
    }
  });

  it(`signing: ${label} accepts timestamps at the edge of the tolerance`, async () => {
    for (const offset of [-toleranceS, toleranceS, 0]) {
      const headers = await sign(secret, body, NOW_S + offset);
      assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), secrets), 'k');
    }
  });

  it(`signing: ${label} checks the timestamp before the signature`, async () => {
    const headers = await sign(secret, body, NOW_S - toleranceS - 60);
    assertRejected(verifySignature(scheme, input(`${body} `, headers, NOW_MS), secrets), 'stale_timestamp');
  });
}
