import type { SignatureRejection as RejectionReason, Secret } from '@hookstream/contracts';

// Why a delivery was rejected (a closed set that analytics and dead letters
// record) and one secret with its window: contracts, defined in the contracts package.
export type { RejectionReason, Secret };

/**
 * The answer of {@link verifySignature}. On success `secretId` names the
 * secret that matched (undefined for the `none` scheme). On failure `detail`
 * is a short human sentence that never contains a secret or an expected
 * signature, so it may be logged and dead-lettered as is.
 */
export type VerifyResult =
  | { readonly ok: true; readonly secretId: string | undefined }
  | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string };

/** What a verifier reads from one delivery. */
export interface VerifyInput {
  /** The raw request body, exactly as received. */
  readonly body: Uint8Array;
  /** Case-insensitive header lookup; returns the first value or undefined. */
  readonly header: (name: string) => string | undefined;
  /** The verifier's clock (epoch ms); secrets' windows and timestamps are judged against it. */
  readonly nowMs: number;
}

/** Digest of the generic HMAC scheme. */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/**
 * How a source signs its deliveries. Build one with {@link parseSchemeConfig}
 * from untrusted input; `toleranceSeconds` defaults to
 * {@link DEFAULT_TOLERANCE_SECONDS}.
 */
export type SchemeConfig =
  | { readonly kind: 'standard-webhooks'; readonly toleranceSeconds?: number }
  | { readonly kind: 'stripe'; readonly toleranceSeconds?: number }
  | { readonly kind: 'github' }
  | { readonly kind: 'shopify' }
  | { readonly kind: 'slack'; readonly toleranceSeconds?: number }
  | { readonly kind: 'razorpay' }
  | {
      readonly kind: 'hmac';
      /** Header carrying one signature. */
      readonly header: string;
      readonly algorithm: HmacAlgorithm;
      readonly encoding: 'hex' | 'base64';
      /** Text before the signature (`sha256=`); a header without it is malformed. */
      readonly prefix?: string;
      /** Header with the signed timestamp (seconds, or milliseconds when > 1e12); required when `template` uses `{timestamp}`. */
      readonly timestampHeader?: string;
      /** Signed content with `{timestamp}` and `{body}` placeholders; the body alone when absent. */
      readonly template?: string;
      readonly toleranceSeconds?: number;
    }
  | { readonly kind: 'none' };

/** Replay window, in seconds either side of now, when a scheme config sets none. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
