import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { signStandardWebhooks, verifySignature } from '@hookstream/signing';
import { Webhook } from 'standardwebhooks';
import { SigningError } from '../src/errors.ts';
import { generateStandardWebhooksSecret } from '../src/standard-webhooks.ts';
import { assertAccepted, lookup } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('outbound signer', () => {
  it('signing: the outbound signer reproduces the Standard Webhooks test vector', () => {
    const body = Buffer.from('{"test": 2432232314}');
    assert.equal(
      signStandardWebhooks('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body, [SECRET]),
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it("signing: the outbound signer's header verifies with the standardwebhooks library", () => {
    // The library checks the timestamp against its own clock, so sign at the real now.
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from('{ "type" : "order.created", "note": "caf\u00e9 \u2615" }', 'utf8');
    const second = generateStandardWebhooksSecret();
    const signature = signStandardWebhooks('msg_out_1', now, body, [SECRET, second]);
    assert.equal(signature.split(' ').length, 2);
    const headers = { 'webhook-id': 'msg_out_1', 'webhook-timestamp': String(now), 'webhook-signature': signature };
    for (const secret of [SECRET, second]) {
      assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body.toString('utf8')));
    }
    assert.throws(() => new Webhook(generateStandardWebhooksSecret()).verify(body, headers), /No matching signature/);
    // And hookstream's own verifier agrees.
    const input = { body, header: lookup(headers), nowMs: now * 1000 };
    assertAccepted(verifySignature({ kind: 'standard-webhooks' }, input, [{ id: 'second', value: second }]), 'second');
  });

  it('signing: the outbound signer accepts a plain Uint8Array body and a bare base64 key', () => {
    const bytes = new Uint8Array([0x7b, 0x7d]);
    assert.equal(
      signStandardWebhooks('m', 1, bytes, [SECRET]),
      signStandardWebhooks('m', 1, Buffer.from('{}'), [SECRET.slice('whsec_'.length)]),
    );
  });

  it('signing: the outbound signer throws SigningError on a malformed secret or timestamp', () => {
    const body = Buffer.from('{}');
    for (const secrets of [[], ['whsec_'], ['whsec_***'], ['whpk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], [SECRET, 'not base64!']]) {
      assert.throws(
        () => signStandardWebhooks('m', 1, body, secrets),
        (err: unknown) => err instanceof SigningError && err.name === 'SigningError' && !err.message.includes('***'),
      );
    }
    for (const ts of [-1, 1.5, Number.NaN]) {
      assert.throws(() => signStandardWebhooks('m', ts, body, [SECRET]), SigningError);
    }
  });

  it('signing: generated secrets are whsec_ with 24 random bytes', () => {
    const a = generateStandardWebhooksSecret();
    const b = generateStandardWebhooksSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(Buffer.from(a.slice(6), 'base64').length, 24);
    assert.notEqual(a, b);
  });
});
