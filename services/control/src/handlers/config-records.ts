import { status } from '@grpc/grpc-js';
import { type EndpointConfig, SOURCE_ID, type SourceConfig } from '@hookstream/models';
import type { Endpoint, RotateSecretRequest, RotateSecretResponse, Source } from '@hookstream/proto';
import { invalid, RpcError } from '../errors.ts';
import type { ResolvedDeps } from '../handlers.ts';
import { isUnreadable, parseJsonField, type RecordBucket, revisionOf, type Stored, type Unreadable } from '../records.ts';
import { generateSecret, redact, restoreRedacted, rotate, rotatedView } from '../secrets.ts';
import { recordId } from './request.ts';

// What the source and endpoint handlers share: both are JSON configs with
// secrets, kept in a RecordBucket, redacted in every answer but the one that
// created or rotated them.

/**
 * The API view of a source or endpoint: its config with every secret-bearing
 * value redacted (unless `shown`, for the answer to the Create that sent
 * them). A record that cannot be decoded is shown as stored, redacted. Pure.
 */
export function recordOut(s: Stored<SourceConfig | EndpointConfig> | Unreadable, shown = false): Source & Endpoint {
  const [id, record] = isUnreadable(s) ? [s.id, redact(s.stored)] : [s.record.id, shown ? s.record : redact(s.record)];
  return { id, configJson: JSON.stringify(record), revision: s.revision, updatedAtMs: s.updatedAtMs };
}

/** What a stored entry holds for restoring redacted values: the decoded record, or the stored one as it is. */
export function storedView(s: Stored<object> | Unreadable | undefined): object | undefined {
  if (s === undefined) return undefined;
  return isUnreadable(s) ? s.stored : s.record;
}

/** The id a `config_json` names, when it is a valid one (else the parser will refuse it). Pure. */
export function idOf(input: unknown): string | undefined {
  const id = (input as { id?: unknown } | null)?.id;
  return typeof id === 'string' && SOURCE_ID.test(id) ? id : undefined;
}

/** `config_json` of a request, parsed within the size and depth limits. Throws INVALID_ARGUMENT. */
export function configJson(deps: ResolvedDeps, value: string): unknown {
  return parseJsonField(value, 'config_json', deps.limits);
}

/** The record a Create sends: a "***" in it stands for nothing stored, so it is refused (naming it) rather than stored as the value. */
export function newRecord(deps: ResolvedDeps, value: string): unknown {
  return restoreRedacted(configJson(deps, value), undefined);
}

/**
 * Rotates the secret of the record `req.id` names (optimistically, at
 * `req.revision` when set): the new secret is current, the previous one valid
 * until `previous_valid_until_ms` (0: now plus the rotation grace). Resolves
 * with the new secret shown once; throws NOT_FOUND, FAILED_PRECONDITION
 * (revision) or INVALID_ARGUMENT.
 */
export async function rotateSecret<T extends SourceConfig | EndpointConfig>(
  deps: ResolvedDeps,
  bucket: RecordBucket<T>,
  req: RotateSecretRequest,
): Promise<RotateSecretResponse> {
  const current = await bucket.require(recordId(req.id));
  if (revisionOf(req.revision) !== 0 && req.revision !== current.revision) {
    throw new RpcError(status.FAILED_PRECONDITION, `${req.id} is at revision ${current.revision}, not ${req.revision}`);
  }
  const nowMs = deps.now();
  const secretId = req.newSecretId === '' ? `k${nowMs}` : req.newSecretId;
  const value = req.newSecret === '' ? generateSecret() : req.newSecret;
  if (!Number.isSafeInteger(req.previousValidUntilMs) || req.previousValidUntilMs < 0) {
    throw invalid('previous_valid_until_ms', 'must be epoch milliseconds (0: now plus the rotation grace)');
  }
  const rotated = rotate(current.record, {
    id: secretId,
    value,
    previousValidUntilMs: req.previousValidUntilMs === 0 ? nowMs + deps.rotationGraceMs : req.previousValidUntilMs,
    nowMs,
  });
  const stored = await bucket.update(rotated, current.revision);
  return { configJson: JSON.stringify(rotatedView(stored.record, secretId)), revision: stored.revision, secretId, secretValue: value };
}
