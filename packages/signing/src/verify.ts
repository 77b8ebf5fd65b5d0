import { activeSecrets, rejected } from './common.ts';
import { type HmacSpec, verifyHmac } from './generic-hmac.ts';
import { verifyStandardWebhooks } from './standard-webhooks.ts';
import { verifyStripe } from './stripe.ts';
import { DEFAULT_TOLERANCE_SECONDS, type SchemeConfig, type Secret, type VerifyInput, type VerifyResult } from './types.ts';

/** The fixed single-header HMAC providers, as generic HMAC specs. */
const GITHUB: HmacSpec = {
  header: 'X-Hub-Signature-256',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  timestampUnit: 'seconds',
};
const SHOPIFY: HmacSpec = {
  header: 'X-Shopify-Hmac-Sha256',
  algorithm: 'sha256',
  encoding: 'base64',
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  timestampUnit: 'seconds',
};
const RAZORPAY: HmacSpec = {
  header: 'X-Razorpay-Signature',
  algorithm: 'sha256',
  encoding: 'hex',
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  timestampUnit: 'seconds',
};

function slack(toleranceSeconds: number): HmacSpec {
  return {
    header: 'X-Slack-Signature',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: 'v0=',
    timestampHeader: 'X-Slack-Request-Timestamp',
    template: 'v0:{timestamp}:{body}',
    toleranceSeconds,
    timestampUnit: 'seconds',
  };
}

/**
 * Decides whether one delivery is authentic under `scheme`. Only secrets
 * whose window includes `input.nowMs` are tried; with none left the answer
 * is `no_secret` (except for `none`, which always succeeds with an undefined
 * `secretId`). Then, in order: a required header absent or blank is
 * `missing_signature`, one that does not parse is `malformed_signature`, a
 * timestamp outside the tolerance (either direction) is `stale_timestamp`,
 * and no active secret matching is `bad_signature`. Every signature
 * comparison is constant-time. Pure; never throws, whatever the headers hold.
 */
export function verifySignature(scheme: SchemeConfig, input: VerifyInput, secrets: readonly Secret[]): VerifyResult {
  if (scheme.kind === 'none') return { ok: true, secretId: undefined };
  const active = activeSecrets(secrets, input.nowMs);
  if (active.length === 0) return rejected('no_secret', 'no secret of this source is active now');
  switch (scheme.kind) {
    case 'standard-webhooks':
      return verifyStandardWebhooks(input, active, scheme.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
    case 'stripe':
      return verifyStripe(input, active, scheme.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
    case 'github':
      return verifyHmac(GITHUB, input, active);
    case 'shopify':
      return verifyHmac(SHOPIFY, input, active);
    case 'razorpay':
      return verifyHmac(RAZORPAY, input, active);
    case 'slack':
      return verifyHmac(slack(scheme.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS), input, active);
    case 'hmac':
      return verifyHmac(
        {
          header: scheme.header,
          algorithm: scheme.algorithm,
          encoding: scheme.encoding,
          prefix: scheme.prefix,
          timestampHeader: scheme.timestampHeader,
          template: scheme.template,
          toleranceSeconds: scheme.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
          timestampUnit: 'auto',
        },
        input,
        active,
      );
  }
}
