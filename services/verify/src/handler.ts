import type { RejectionRecord, VerifyRejection } from '@hookstream/contracts';
import { idempotencyKey, type SourceConfig, sourcePolicy } from '@hookstream/models';
import { envelopeOf, type Outcome, type StageMessage, senderHeader } from '@hookstream/runtime';
import { verifySignature } from '@hookstream/signing';

/** A raw message as verify's handler reads it. */
export type RawMessage = StageMessage;

/** The I/O verify's handler needs, as small interfaces (fakes in unit tests). */
export interface VerifyDeps {
  readonly source: (id: string) => SourceConfig | undefined;
  /** Publishes the authentic message downstream; resolves on JetStream's ack. */
  readonly forward: (msg: RawMessage, eventId: string, source: string, secretId: string | undefined) => Promise<void>;
  /** Publishes the rejection record; resolves on JetStream's ack. */
  readonly recordRejection: (record: RejectionRecord) => Promise<void>;
  /** Writes the `hs_lookup` entry (provider id -> this event, contracts `lookupKey`); resolves once stored. */
  readonly index: (eventId: string, sourceId: string, key: string) => Promise<void>;
  readonly now: () => number;
}

/**
 * The provider's id of a raw message (the source's idempotency-key locator,
 * as dedup reads it), or undefined: no such source, no locator, or the id is
 * not there or not usable (dedup would fall back to a body hash, which no
 * operator searches for). Pure; never throws.
 */
export function providerId(msg: RawMessage, sourceId: string, source: SourceConfig | undefined): string | undefined {
  let locator: ReturnType<typeof sourcePolicy>['idempotencyKey'];
  try {
    locator = source === undefined ? undefined : sourcePolicy(source).idempotencyKey;
  } catch {
    return undefined;
  }
  if (locator === undefined) return undefined;
  const key = idempotencyKey(sourceId, locator, msg.data, senderHeader(msg));
  return key.origin === 'provider' ? key.value : undefined;
}

/** The verdict on one raw message, without I/O. */
export type Verdict =
  | { readonly kind: 'authentic'; readonly secretId: string | undefined }
  | { readonly kind: 'rejected'; readonly reason: VerifyRejection; readonly detail: string };

/**
 * Decides whether a raw message is authentic under its source's policy.
 * Time checks (timestamp tolerance, secret validity) use the moment ingest
 * received the request, not now, so a backlog never turns good events stale.
 * Pure; never throws.
 */
export function judge(msg: RawMessage, source: SourceConfig | undefined, receivedAtMs: number): Verdict {
  if (source === undefined) return { kind: 'rejected', reason: 'unknown_source', detail: 'the source is not configured' };
  let policy: ReturnType<typeof sourcePolicy>;
  try {
    policy = sourcePolicy(source);
  } catch {
    return { kind: 'rejected', reason: 'no_secret', detail: 'the source has no signature scheme' };
  }
  const result = verifySignature(policy.scheme, { body: msg.data, header: senderHeader(msg), nowMs: receivedAtMs }, policy.secrets);
  return result.ok ? { kind: 'authentic', secretId: result.secretId } : { kind: 'rejected', reason: result.reason, detail: result.detail };
}

/**
 * Handles one `hs.raw.{source}` message: authentic ones are forwarded to
 * `hs.verified.{source}` and acked; rejected ones get an analytics record, an
 * `hs_lookup` entry for their provider id (they never reach dedup, which
 * indexes the rest, so FindEvents finds them by it) and a `term` outcome,
 * which the worker turns into a dead letter with the reason.
 * Throws only when a publish fails (the worker retries with a delay).
 */
export async function handleRaw(msg: RawMessage, deps: VerifyDeps): Promise<Outcome> {
  const { eventId, sourceId, receivedAtMs } = envelopeOf(msg, deps.now());
  const source = deps.source(sourceId);
  const verdict = judge(msg, source, receivedAtMs);
  if (verdict.kind === 'authentic') {
    await deps.forward(msg, eventId, sourceId, verdict.secretId);
    return { kind: 'ack' };
  }
  const provided = providerId(msg, sourceId, source);
  if (provided !== undefined) await deps.index(eventId, sourceId, provided);
  await deps.recordRejection({
    kind: 'rejection',
    stage: 'verify',
    event_id: eventId,
    source: sourceId,
    reason: verdict.reason,
    detail: verdict.detail,
    received_at: receivedAtMs,
    at: deps.now(),
  });
  return { kind: 'term', reason: verdict.reason, detail: verdict.detail };
}
