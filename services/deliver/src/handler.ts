import {
  type AttemptRecord,
  type DeliverDeadLetterReason,
  deliveryKey,
  isSecretActive,
  OutboundHeader,
  type Secret,
  type SkippedRecord,
} from '@hookstream/contracts';
import type { EndpointConfig } from '@hookstream/models';
import { type Outcome, type StageMessage, senderHeader } from '@hookstream/runtime';
import { signStandardWebhooks } from '@hookstream/signing';
import { nextDelayMs, parseRetryAfter, withinRetryWindow } from './backoff.ts';
import { type Classification, classifyError, classifyStatus, describeError } from './classify.ts';
import type { HttpSender, SendResult } from './http-client.ts';
import { queueKey, readTask, type Task } from './task.ts';
import type { EndpointGates, Verdict } from './throttle.ts';

/**
 * Where the task at the head of a strictly ordered endpoint stands: its
 * retries stay in place (a nak with the backoff), so the attempts made are
 * kept here, in the `hs_delivery_heads` bucket under the endpoint id (or
 * `{endpoint}.{lane}` for a lane of an endpoint ordered by a key).
 */
export interface HeadState {
  /** {@link deliveryKey} of the task. */
  readonly key: string;
  readonly attempts: number;
  /** Epoch ms of the next attempt. */
  readonly notBeforeMs: number;
}

/** The `hs_delivery_heads` bucket, as the handler uses it. */
export interface HeadStore {
  /** `queue`: see {@link queueKey}. */
  get(queue: string): Promise<HeadState | undefined>;
  /** Resolves once stored. */
  put(queue: string, head: HeadState): Promise<void>;
}

/**
 * What the `hs_delivered` bucket keeps per delivery ({@link deliveryKey})
 * once one of its requests got a 2xx: which request, which attempt, when.
 */
export interface DeliveredMarker {
  /** The {@link AttemptRecord.request_id} of the request that got the 2xx. */
  readonly request_id: string;
  readonly attempt: number;
  /** Epoch ms of the 2xx. */
  readonly at: number;
  /**
   * The attempt record of that request, so a redelivered task whose first
   * copy could not store its record (the obs stream had no leader) stores
   * it then, under the same record id (stored once), instead of repeating
   * the request.
   */
  readonly record?: AttemptRecord;
}

/**
 * The `hs_delivered` bucket, as the handler uses it (delivered.ts): the
 * deliveries that got a 2xx within the bucket's TTL, keyed by the task's
 * delivery key (event, endpoint, replay).
 */
export interface DeliveredStore {
  /** The task's marker, or undefined. Throws when the bucket cannot answer (the worker redelivers the task later). */
  get(task: Task): Promise<DeliveredMarker | undefined>;
  /**
   * Publishes the task's marker at once, on the connection the task's ack
   * goes out on next; JetStream's answer is handled when it comes, and a
   * marker that was not stored is logged and counted. Never throws: the
   * task is acked either way (a redelivery would repeat the request for
   * sure; an ack repeats it only if the broker loses the ack too).
   */
  put(task: Task, marker: DeliveredMarker): void;
}

/** An `hs.deliver.{endpoint}` message as deliver's handler reads it. */
export type TaskMessage = StageMessage;

/** Why a task went to `hs.dlq.deliver.{endpoint}`: the contracts' closed set, shared with `hs.obs.skipped`. */
export type DeadLetterReason = DeliverDeadLetterReason;

/** When to attempt a task again, as {@link DeliverDeps.putBack} writes it onto the task. */
export interface NextTask {
  readonly attemptsMade: number;
  readonly notBeforeMs: number;
  readonly requeues: number;
}

/** What the retry consumer's handler needs. */
export interface RetryDeps {
  /** Publishes the task back to `hs.deliver.{endpoint}`, unchanged; resolves on the PubAck. */
  readonly release: (msg: TaskMessage, task: Task) => Promise<void>;
  readonly now: () => number;
}

/**
 * Handles one message of the retry consumer (`hs.retry.>`): not yet due, nak
 * it until it is (JetStream holds it; no timer runs here); due, move it back
 * to its endpoint's queue, then ack.
 */
export async function releaseWhenDue(msg: TaskMessage, deps: RetryDeps): Promise<Outcome> {
  const now = deps.now();
  const task = readTask(msg, now);
  if (task.notBeforeMs > now) return { kind: 'nak', delayMs: task.notBeforeMs - now };
  await deps.release(msg, task);
  return { kind: 'ack' };
}

/** The I/O and state deliver's handler needs. */
export interface DeliverDeps {
  /** The endpoint's current config, or undefined when it was deleted. */
  readonly endpoint: (id: string) => EndpointConfig | undefined;
  /** Whether deliver disabled the endpoint (410 Gone) and nobody re-enabled it. */
  readonly disabled: (id: string) => boolean;
  /** Writes `{disabled: true, reason: 'gone', at}` to the endpoint-state bucket, then publishes `endpoint.disabled` (an operational event). */
  readonly markGone: (id: string, atMs: number) => Promise<void>;
  readonly gates: Pick<EndpointGates, 'admit'>;
  /** Attempt state of strictly ordered endpoints' head tasks. */
  readonly heads: HeadStore;
  /** Deliveries that got a 2xx (the last hop's idempotency). */
  readonly delivered: DeliveredStore;
  /** Reports a task acked without a request because it was delivered already (log, metric, count). */
  readonly suppressed: (task: Task, marker: DeliveredMarker) => void;
  /** A new request id ({@link AttemptRecord.request_id}). */
  readonly requestId: () => string;
  readonly sender: Pick<HttpSender, 'send'>;
  /**
   * Publishes an attempt record; resolves on its PubAck. `again` marks a
   * record published before (tried again, or republished from a marker):
   * not a new request, not counted again.
   */
  readonly recordAttempt: (record: AttemptRecord, again?: boolean) => Promise<void>;
  /** Waits before a publish is tried again (setTimeout; instant in tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly recordSkipped: (record: SkippedRecord) => Promise<void>;
  /** Publishes the task to `hs.retry.{endpoint}` with the given deliver headers; resolves on the PubAck. */
  readonly putBack: (msg: TaskMessage, task: Task, next: NextTask) => Promise<void>;
  /**
   * Publishes the task to `hs.dlq.deliver.{endpoint}`, and for
   * `retries_exhausted` the operational event `delivery.exhausted` (not for
   * a task of an operational event); resolves on the PubAcks.
   */
  readonly deadLetter: (msg: TaskMessage, task: Task, reason: DeadLetterReason, detail: string, attempts: number) => Promise<void>;
  /** How an unordered task waits `delayMs` for an open circuit: a nak, or a put-back (app.ts). */
  readonly defer: (msg: TaskMessage, task: Task, delayMs: number) => Promise<Outcome>;
  readonly now: () => number;
  /** Uniform in [0, 1), for backoff jitter. */
  readonly random: () => number;
  readonly userAgent: string;
  /** Upper bound of any endpoint's timeout (kept below the consumer's ack wait). */
  readonly maxTimeoutMs: number;
}

/** The values of the secrets that sign at `nowMs`: the contracts' `isSecretActive`, the rule verification uses too. Pure. */
export function activeSecrets(secrets: readonly Secret[], nowMs: number): string[] {
  return secrets.filter((s) => isSecretActive(s, nowMs)).map((s) => s.value);
}

/**
 * The request headers of one POST: content type (the sender's, else
 * `application/json`) and user agent, then the endpoint's own headers, then
 * the Standard Webhooks `webhook-id`, `webhook-timestamp` and
 * `webhook-signature`, and `hookstream-request-id` (this request's id, the
 * `request_id` of its attempt row: support can match a request a
 * subscriber logged to its row), none of which the endpoint can override.
 * Pure.
 */
export function requestHeaders(
  task: Task,
  endpoint: EndpointConfig,
  contentType: string | undefined,
  userAgent: string,
  timestampSeconds: number,
  body: Uint8Array,
  secrets: readonly string[],
  requestId = '',
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': contentType ?? 'application/json', 'user-agent': userAgent };
  for (const [name, value] of Object.entries(endpoint.headers ?? {})) headers[name.toLowerCase()] = value;
  headers[OutboundHeader.id] = task.eventId;
  headers[OutboundHeader.timestamp] = String(timestampSeconds);
  headers[OutboundHeader.signature] = signStandardWebhooks(task.eventId, timestampSeconds, body, secrets);
  if (requestId !== '') headers[OutboundHeader.requestId] = requestId;
  return headers;
}

function describe(result: SendResult, c: Classification): string {
  if (result.kind === 'response') {
    const excerpt = result.excerpt.slice(0, 200);
    return `HTTP ${result.status}${excerpt === '' ? '' : `: ${excerpt}`}`;
  }
  return `${c.outcome}: ${(result.error as Error)?.message ?? String(result.error)}`;
}

function classify(result: SendResult): Classification {
  return result.kind === 'response' ? classifyStatus(result.status) : classifyError(result.error, result.timedOut);
}

function verdictOf(c: Classification): Verdict {
  if (c.outcome === 'blocked') return 'none';
  return c.retryable ? 'failure' : 'success';
}

async function skip(msg: TaskMessage, task: Task, reason: DeadLetterReason, detail: string, deps: DeliverDeps): Promise<Outcome> {
  const record: SkippedRecord = {
    kind: 'skipped',
    event_id: task.eventId,
    endpoint_id: task.endpointId,
    source: task.source,
    event_type: task.eventType,
    reason,
    attempts: task.attemptsMade,
    at: deps.now(),
    ...(task.replayId !== '' ? { replay: task.replayId } : {}),
  };
  await Promise.all([deps.recordSkipped(record), deps.deadLetter(msg, task, reason, detail, task.attemptsMade)]);
  return { kind: 'ack' };
}

/**
 * The ms a finished request keeps its consumer slot before the ack, so that
 * an endpoint's `rateLimitPerSecond` holds across replicas: with at most
 * `slots` of its tasks unacknowledged ({@link rateSlots}: the consumer's
 * `max_ack_pending`, or one per lane of an endpoint ordered by a key), each
 * held `slots / rate` seconds from the start of its request, no more than
 * `rate` requests a second start on average (after a first burst of
 * `slots`). 0 without a rate limit. Pure.
 */
export function rateHoldMs(endpoint: EndpointConfig, startedAtMs: number, endedAtMs: number): number {
  const rate = endpoint.rateLimitPerSecond;
  if (rate === undefined) return 0;
  return Math.max(0, Math.ceil(startedAtMs + (rateSlots(endpoint) * 1000) / rate - endedAtMs));
}

/** Tasks of the endpoint unacknowledged at most, over all its consumers: its slots, or its lanes when ordered by a key. Pure. */
export function rateSlots(endpoint: EndpointConfig): number {
  return endpoint.orderingKey !== undefined ? (endpoint.orderingLanes ?? 1) : endpointSlots(endpoint);
}

/** The endpoint consumer's `max_ack_pending`: its concurrency, 1 when strictly ordered. Pure. */
export function endpointSlots(endpoint: EndpointConfig): number {
  return endpoint.ordering === 'strict' ? 1 : endpoint.maxConcurrency;
}

/**
 * Handles one delivery task, taken from its endpoint's consumer (which lets
 * at most {@link endpointSlots} be unacknowledged, across replicas):
 * 1. Already delivered (its delivery key has a marker in `hs_delivered`:
 *    the broker forgot an ack and redelivered it, a work queue forgot a
 *    `Nats-Msg-Id` and stored a republished copy, or the first copy's
 *    attempt record could not be stored): store the marker's record (same
 *    id, kept once) and ack without a request, reported as a suppressed
 *    duplicate.
 * 2. Endpoint deleted: dead-letter without an attempt.
 * 3. A strictly ordered endpoint's head task takes its attempts and due time
 *    from the head state.
 * 4. Not yet due: a strictly ordered task is nak'ed until it is (it holds
 *    the endpoint's one slot on purpose); any other is moved to
 *    `hs.retry.{endpoint}` (the retry consumer brings it back when due), so
 *    it does not hold a slot while it waits.
 * 5. Endpoint disabled or out of signing secrets, or the retry window closed
 *    while it waited: dead-letter without an attempt.
 * 6. Circuit open: defer (no attempt is made or counted).
 * 7. POST it, signed, with a new request id; classify the answer; record
 *    the attempt on `hs.obs.attempt` (on success after publishing the
 *    delivered marker, which carries the record) and ack; on a retryable failure retry
 *    with `hs-attempt` + 1 after the backoff (or dead-letter
 *    `retries_exhausted` past the endpoint's max age), otherwise
 *    dead-letter (`http_4xx`, `blocked`, or `endpoint_gone` after marking the
 *    endpoint disabled). The ack is held by {@link rateHoldMs} and comes only
 *    after every publish is acked.
 * Throws when a publish fails or the `hs_delivered` bucket cannot be read
 * (the worker redelivers; the attempt repeats).
 */
export async function handleTask(msg: TaskMessage, deps: DeliverDeps): Promise<Outcome> {
  const now = deps.now();
  let task = readTask(msg, now);
  const marker = await deps.delivered.get(task);
  if (marker !== undefined) {
    // Its record may not have been stored (that is why it came back): store
    // it now under its own id, which JetStream or ClickHouse keeps once.
    if (marker.record !== undefined) await publishWithRetry(() => deps.recordAttempt(marker.record as AttemptRecord, true), deps);
    deps.suppressed(task, marker);
    return { kind: 'ack' };
  }
  const endpoint = deps.endpoint(task.endpointId);
  if (endpoint === undefined) return skip(msg, task, 'endpoint_deleted', `endpoint ${task.endpointId} does not exist`, deps);
  const strict = endpoint.ordering === 'strict';
  if (strict) {
    const head = await deps.heads.get(queueKey(endpoint.id, task.lane));
    if (
      head !== undefined &&
      head.key === deliveryKey(task.eventId, task.endpointId, task.replayId) &&
      head.attempts >= task.attemptsMade
    ) {
      task = { ...task, attemptsMade: head.attempts, notBeforeMs: Math.max(task.notBeforeMs, head.notBeforeMs) };
    }
  }
  if (task.notBeforeMs > now) {
    if (strict) return { kind: 'nak', delayMs: task.notBeforeMs - now };
    await deps.putBack(msg, task, { attemptsMade: task.attemptsMade, notBeforeMs: task.notBeforeMs, requeues: task.requeues + 1 });
    return { kind: 'ack' };
  }
  if (!endpoint.enabled || deps.disabled(endpoint.id)) {
    return skip(msg, task, 'endpoint_disabled', `endpoint ${endpoint.id} is disabled`, deps);
  }
  if (task.attemptsMade > 0 && !withinRetryWindow(task.retryFromMs, now, 0, endpoint.retry)) {
    return skip(msg, task, 'retries_exhausted', `${task.attemptsMade} attempts; older than retry.maxAgeMs`, deps);
  }
  const secrets = activeSecrets(endpoint.secrets, now);
  if (secrets.length === 0) return skip(msg, task, 'no_active_secret', `endpoint ${endpoint.id} has no signing secret valid now`, deps);

  const admission = deps.gates.admit(endpoint);
  if (admission.kind === 'wait') return strict ? { kind: 'nak', delayMs: admission.delayMs } : deps.defer(msg, task, admission.delayMs);

  const attempt = task.attemptsMade + 1;
  const requestId = deps.requestId();
  let result: SendResult | undefined;
  let c: Classification | undefined;
  try {
    const headers = requestHeaders(
      task,
      endpoint,
      senderHeader(msg)('content-type'),
      deps.userAgent,
      Math.floor(now / 1000),
      msg.data,
      secrets,
      requestId,
    );
    result = await deps.sender.send({
      url: endpoint.url,
      headers,
      body: msg.data,
      timeoutMs: Math.min(endpoint.timeoutMs, deps.maxTimeoutMs),
    });
    c = classify(result);
  } finally {
    admission.pass.done(c === undefined ? 'failure' : verdictOf(c), result?.latencyMs ?? 0);
  }
  return settleAttempt(msg, task, endpoint, { attempt, requestId }, result, c, now, deps);
}

async function settleAttempt(
  msg: TaskMessage,
  task: Task,
  endpoint: EndpointConfig,
  { attempt, requestId }: { attempt: number; requestId: string },
  result: SendResult,
  c: Classification,
  startedAtMs: number,
  deps: DeliverDeps,
): Promise<Outcome> {
  const end = deps.now();
  const strict = endpoint.ordering === 'strict';
  let nextRetryAt: number | null = null;
  let giveUp: DeadLetterReason | undefined;
  if (c.gone) giveUp = 'endpoint_gone';
  else if (c.outcome !== 'success' && !c.retryable) giveUp = c.outcome === 'blocked' ? 'blocked' : 'http_4xx';
  else if (c.retryable) {
    const retryAfterMs = c.honoursRetryAfter && result.kind === 'response' ? parseRetryAfter(result.retryAfter, end) : undefined;
    const delay = nextDelayMs(attempt, endpoint.retry, deps.random, retryAfterMs);
    if (withinRetryWindow(task.retryFromMs, end, delay, endpoint.retry)) nextRetryAt = end + delay;
    else giveUp = 'retries_exhausted';
  }
  const record: AttemptRecord = {
    kind: 'attempt',
    event_id: task.eventId,
    endpoint_id: endpoint.id,
    source: task.source,
    event_type: task.eventType,
    attempt,
    status: result.kind === 'response' ? result.status : null,
    outcome: c.outcome,
    latency_ms: Math.round(result.latencyMs),
    e2e_ms: Math.max(0, end - task.receivedAtMs),
    next_retry_at: nextRetryAt,
    response_excerpt: result.kind === 'response' ? result.excerpt : '',
    ...(result.kind === 'error' ? { error: describeError(result.error, result.timedOut, endpoint.timeoutMs) } : {}),
    at: end,
    ...(task.replayId !== '' ? { replay: task.replayId } : {}),
    request_id: requestId,
  };
  const followUp = async (): Promise<void> => {
    if (nextRetryAt !== null) {
      // A strictly ordered task stays at the head: its attempts go to the
      // head state and the nak below waits out the backoff.
      if (strict)
        return deps.heads.put(queueKey(endpoint.id, task.lane), {
          key: deliveryKey(task.eventId, endpoint.id, task.replayId),
          attempts: attempt,
          notBeforeMs: nextRetryAt,
        });
      return deps.putBack(msg, task, { attemptsMade: attempt, notBeforeMs: nextRetryAt, requeues: 0 });
    }
    if (giveUp === undefined) return;
    if (giveUp === 'endpoint_gone') await deps.markGone(endpoint.id, end);
    await deps.deadLetter(msg, task, giveUp, describe(result, c), attempt);
  };
  // The marker goes first, carrying the record, on the connection the ack
  // goes out on: a redelivery (an ack the broker lost, or a record publish
  // that failed below) finds it, stores the record if need be, and does not
  // repeat the request (docs/delivery.md). A record publish that fails is
  // tried again here before the handler gives up: after a real request a
  // throw means a redelivery, and without a stored marker a second request.
  if (c.outcome === 'success') deps.delivered.put(task, { request_id: requestId, attempt, at: end, record });
  await Promise.all([publishWithRetry((again) => deps.recordAttempt(record, again), deps), followUp()]);
  if (strict && nextRetryAt !== null) return { kind: 'nak', delayMs: Math.max(0, nextRetryAt - end) };
  const holdMs = rateHoldMs(endpoint, startedAtMs, end);
  return holdMs > 0 ? { kind: 'ack', holdMs } : { kind: 'ack' };
}

/** Tries of a publish made after a real request, and the waits between them (ms). */
export const AFTER_REQUEST_PUBLISH_DELAYS = [1_000, 2_000] as const;

/**
 * Runs `publish` (`again`: not its first try); on failure waits and tries again per
 * {@link AFTER_REQUEST_PUBLISH_DELAYS} (a stream electing a leader answers
 * "no responders" for a few seconds), then throws the last error.
 */
async function publishWithRetry(publish: (again: boolean) => Promise<void>, deps: Pick<DeliverDeps, 'sleep'>): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let i = 0; ; i++) {
    try {
      await publish(i > 0);
      return;
    } catch (err) {
      const delay = AFTER_REQUEST_PUBLISH_DELAYS[i];
      if (delay === undefined) throw err;
      await sleep(delay);
    }
  }
}
