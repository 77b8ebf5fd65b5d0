import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type HmacAlgorithm, type SchemeConfig, verifySignature } from '@hookstream/signing';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS, NOW_S, timestampCases } from './helpers.ts';

const OLD = 'generic-old-secret';
const NEW = 'generic-new-secret';

function mac(algorithm: HmacAlgorithm, secret: string, content: Uint8Array | string, encoding: 'hex' | 'base64'): string {
  return createHmac(algorithm, secret).update(content).digest(encoding);
}

describe('generic hmac', () => {
  it('signing: hmac verifies every algorithm and encoding over the body', () => {
    const body = '{"n":1}';
    for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
      for (const encoding of ['hex', 'base64'] as const) {
        const scheme: SchemeConfig = { kind: 'hmac', header: 'X-Signature', algorithm, encoding };
        const headers = { 'x-signature': mac(algorithm, NEW, body, encoding) };
        assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
        // The same digest under another algorithm never matches.
        const other = algorithm === 'sha256' ? 'sha512' : 'sha256';
        const wrong = { 'x-signature': mac(other, NEW, body, encoding) };
        assertRejected(verifySignature(scheme, input(body, wrong, NOW_MS), [{ id: 'k', value: NEW }]), 'bad_signature');
      }
    }
  });

  it('signing: hmac strips the prefix and calls a header without it malformed', () => {
    const scheme: SchemeConfig = { kind: 'hmac', header: 'X-Sig', algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' };
    const body = '{"n":1}';
    const hex = mac('sha256', NEW, body, 'hex');
    assertAccepted(verifySignature(scheme, input(body, { 'X-Sig': `sha256=${hex}` }, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
    assertRejected(verifySignature(scheme, input(body, { 'X-Sig': hex }, NOW_MS), [{ id: 'k', value: NEW }]), 'malformed_signature');
    assertRejected(
      verifySignature(scheme, input(body, { 'X-Sig': `sha256=${hex}x` }, NOW_MS), [{ id: 'k', value: NEW }]),
      'malformed_signature',
    );
    assertRejected(verifySignature(scheme, input(body, {}, NOW_MS), [{ id: 'k', value: NEW }]), 'missing_signature');
  });

  it('signing: hmac template signs timestamp and raw body bytes, never re-encoding the body', () => {
    const scheme: SchemeConfig = {
      kind: 'hmac',
      header: 'X-Sig',
      algorithm: 'sha256',
      encoding: 'base64',
      timestampHeader: 'X-Timestamp',
      template: 'v2|{timestamp}|{body}|{timestamp}',
    };
    // Not valid UTF-8: decoding and re-encoding would replace 0xff with U+FFFD.
    const body = Buffer.from([0x01, 0xff, 0x7b, 0x7d, 0xe2, 0x98]);
    const content = Buffer.concat([Buffer.from(`v2|${NOW_S}|`), body, Buffer.from(`|${NOW_S}`)]);
    const headers = { 'X-Sig': mac('sha256', NEW, content, 'base64'), 'X-Timestamp': String(NOW_S) };
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
    const reencoded = Buffer.from(body.toString('utf8'), 'utf8');
    assert.notDeepEqual(reencoded, body);
    assertRejected(verifySignature(scheme, input(reencoded, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'bad_signature');
  });

  it('signing: hmac reads a timestamp in milliseconds when it is above 1e12', () => {
    const scheme: SchemeConfig = {
      kind: 'hmac',
      header: 'X-Sig',
      algorithm: 'sha256',
      encoding: 'hex',
      timestampHeader: 'X-Ts',
      template: '{timestamp}.{body}',
    };
    const body = '{"n":1}';
    const signAt = (ts: string) => ({ 'X-Sig': mac('sha256', NEW, `${ts}.${body}`, 'hex'), 'X-Ts': ts });
    const secrets = [{ id: 'k', value: NEW }];
    assertAccepted(verifySignature(scheme, input(body, signAt(String(NOW_MS - 2_000)), NOW_MS), secrets), 'k');
    assertRejected(verifySignature(scheme, input(body, signAt(String(NOW_MS - 301_000)), NOW_MS), secrets), 'stale_timestamp');
    assertRejected(verifySignature(scheme, input(body, signAt(String(NOW_MS + 301_000)), NOW_MS), secrets), 'stale_timestamp');
    assertRejected(verifySignature(scheme, input(body, signAt('12:00'), NOW_MS), secrets), 'malformed_signature');
    const { 'X-Ts': _ts, ...noTimestamp } = signAt(String(NOW_S));
    assertRejected(verifySignature(scheme, input(body, noTimestamp, NOW_MS), secrets), 'missing_signature');
  });

  const templated: SchemeConfig = {
    kind: 'hmac',
    header: 'X-Webhook-Signature',
    algorithm: 'sha512',
    encoding: 'hex',
    prefix: 't1=',
    timestampHeader: 'X-Webhook-Timestamp',
    template: '{timestamp}:{body}',
    toleranceSeconds: 120,
  };
  const signTemplated = (secret: string, body: string, ts: number): Headers => ({
    'X-Webhook-Signature': `t1=${mac('sha512', secret, `${ts}:${body}`, 'hex')}`,
    'X-Webhook-Timestamp': String(ts),
  });
  const plain: SchemeConfig = { kind: 'hmac', header: 'X-Body-Signature', algorithm: 'sha256', encoding: 'base64' };
  const signPlain = (secret: string, body: string): Headers => ({ 'X-Body-Signature': mac('sha256', secret, body, 'base64') });

  commonCases('hmac (body only)', plain, signPlain, [OLD, NEW]);
  commonCases('hmac (template)', templated, signTemplated, [OLD, NEW]);
  timestampCases('hmac (template)', templated, signTemplated, NEW, 120);
});
