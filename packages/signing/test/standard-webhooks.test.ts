import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync, sign as signEd25519 } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
import { Webhook } from 'standardwebhooks';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS, NOW_S, timestampCases } from './helpers.ts';

const scheme: SchemeConfig = { kind: 'standard-webhooks' };
const OLD = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEW = 'whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==';

/** Signs with the `standardwebhooks` reference library. */
function sign(secret: string, body: string, timestampS: number, id = 'msg_2Lb3ZyQX5Ho1dfd0BIrFkAlsEfQ'): Headers {
  const signature = new Webhook(secret).sign(id, new Date(timestampS * 1000), body);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampS), 'webhook-signature': signature };
}

/** A fresh Ed25519 key pair: the private key and its `whpk_` secret value. */
function ed25519() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  assert.ok(x !== undefined);
  return { privateKey, secret: `whpk_${Buffer.from(x, 'base64url').toString('base64')}` };
}

describe('standard webhooks', () => {
  it('signing: standard-webhooks accepts a signature made by the standardwebhooks library', () => {
    const body = '{"type":"invoice.paid","data":{"id":"in_1"}}';
    assertAccepted(verifySignature(scheme, input(body, sign(NEW, body, NOW_S), NOW_MS), [{ id: 'k1', value: NEW }]), 'k1');
  });

  it('signing: standard-webhooks accepts the test vector published with the specification', () => {
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const result = verifySignature(scheme, input('{"test": 2432232314}', headers, 1614265330_000 + 10_000), [{ id: 'spec', value: OLD }]);
    assertAccepted(result, 'spec');
  });

  it('signing: standard-webhooks accepts the base64 key without the whsec_ prefix', () => {
    const body = '{"a":1}';
    const secrets = [{ id: 'bare', value: OLD.slice('whsec_'.length) }];
    assertAccepted(verifySignature(scheme, input(body, sign(OLD, body, NOW_S), NOW_MS), secrets), 'bare');
  });

  it('signing: standard-webhooks falls back to the svix-* header names', () => {
    const body = '{"a":1}';
    const h = sign(NEW, body, NOW_S);
    const svix = {
      'svix-id': h['webhook-id'] ?? '',
      'svix-timestamp': h['webhook-timestamp'] ?? '',
      'svix-signature': h['webhook-signature'] ?? '',
    };
    assertAccepted(verifySignature(scheme, input(body, svix, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
  });

  it('signing: standard-webhooks accepts any one matching entry and skips unknown versions', () => {
    // Scenario: the sender is rotating (two v1 entries) and also sends a version we do not know.
    const body = '{"a":1}';
    const withOld = sign(OLD, body, NOW_S)['webhook-signature'];
    const withNew = sign(NEW, body, NOW_S)['webhook-signature'];
    const headers = { ...sign(NEW, body, NOW_S), 'webhook-signature': `v2,AAAA  nonsense v1,!!notbase64 ${withOld} ${withNew}` };
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'new', value: NEW }]), 'new');
  });

  it('signing: standard-webhooks verifies a v1a Ed25519 signature against a whpk_ public key', () => {
    const { privateKey, secret } = ed25519();
    const body = Buffer.from('{"type":"user.created","name":"Zo\u00eb"}', 'utf8');
    const id = 'msg_ed25519';
    const content = Buffer.concat([Buffer.from(`${id}.${NOW_S}.`), body]);
    const signature = signEd25519(null, content, privateKey).toString('base64');
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(NOW_S), 'webhook-signature': `v1a,${signature}` };
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'pk', value: secret }]), 'pk');

    const other = ed25519();
    assertRejected(
      verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'pk2', value: other.secret }]),
      'bad_signature',
      other.secret,
    );
    const tampered = Buffer.concat([body, Buffer.from(' ')]);
    assertRejected(verifySignature(scheme, input(tampered, headers, NOW_MS), [{ id: 'pk', value: secret }]), 'bad_signature');
    // A v1a signature is never checked against an HMAC secret, nor a v1 one against a public key.
    assertRejected(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'h', value: NEW }]), 'bad_signature');
    const hmacHeaders = sign(NEW, body.toString('utf8'), NOW_S, id);
    assertRejected(verifySignature(scheme, input(body, hmacHeaders, NOW_MS), [{ id: 'pk', value: secret }]), 'bad_signature');
  });

  it('signing: standard-webhooks matches v1 and v1a entries against a mix of secret kinds', () => {
    const { privateKey, secret } = ed25519();
    const body = '{"a":1}';
    const id = 'msg_mixed';
    const ed = signEd25519(null, Buffer.from(`${id}.${NOW_S}.${body}`), privateKey).toString('base64');
    const headers = { ...sign(OLD, body, NOW_S, id) };
    headers['webhook-signature'] = `${headers['webhook-signature']} v1a,${ed}`;
    const secrets = [
      { id: 'hmac-new', value: NEW },
      { id: 'ed', value: secret },
    ];
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), secrets), 'ed');
  });

  it('signing: standard-webhooks ignores secrets that are not valid keys', () => {
    const body = '{"a":1}';
    const secrets = [
      { id: 'junk', value: 'whsec_***' },
      { id: 'short-pk', value: 'whpk_AAAA' },
      { id: 'good', value: NEW },
    ];
    assertAccepted(verifySignature(scheme, input(body, sign(NEW, body, NOW_S), NOW_MS), secrets), 'good');
  });

  it('signing: standard-webhooks names the missing or malformed header', () => {
    const body = '{"a":1}';
    const good = sign(NEW, body, NOW_S);
    const secrets = [{ id: 'k', value: NEW }];
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = { ...good, [name]: '' };
      const result = verifySignature(scheme, input(body, headers, NOW_MS), secrets);
      assertRejected(result, 'missing_signature');
      assert.ok(!result.ok && result.detail.includes(name));
    }
    for (const ts of ['abc', '1.5e9', '-1', '17172432OO']) {
      assertRejected(verifySignature(scheme, input(body, { ...good, 'webhook-timestamp': ts }, NOW_MS), secrets), 'malformed_signature');
    }
    for (const sig of ['v1', 'v1,', 'v1,%%%', 'v2,AAAA', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'v1a,AAAA']) {
      assertRejected(verifySignature(scheme, input(body, { ...good, 'webhook-signature': sig }, NOW_MS), secrets), 'malformed_signature');
    }
  });

  it('signing: standard-webhooks honours a configured tolerance', () => {
    const body = '{"a":1}';
    const headers = sign(NEW, body, NOW_S - 30);
    const secrets = [{ id: 'k', value: NEW }];
    assertRejected(
      verifySignature({ kind: 'standard-webhooks', toleranceSeconds: 10 }, input(body, headers, NOW_MS), secrets),
      'stale_timestamp',
    );
    assertAccepted(verifySignature({ kind: 'standard-webhooks', toleranceSeconds: 60 }, input(body, headers, NOW_MS), secrets), 'k');
  });

  commonCases('standard-webhooks', scheme, (secret, body, ts) => sign(secret, body, ts), [OLD, NEW]);
  timestampCases('standard-webhooks', scheme, (secret, body, ts) => sign(secret, body, ts), NEW, 300);
});
