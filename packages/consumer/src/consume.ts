import { deadLetterHeaders, deadLetterMsgId, Header, MSG_ID_HEADER } from '@hookstream/contracts';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as newHeaders } from '@nats-io/transport-node';
import { CONSUMER_DEFAULTS, CONSUMER_METADATA, deadLetterSubject, eventsStream, operationalStream } from './consumer.ts';
import { EnvelopeError, type HookstreamEvent, parseEvent } from './envelope.ts';

/**
 * Throw this from a handler for a failure that retrying cannot fix (a
 * payload your system rejects): the event is dead-lettered at once and not
 * redelivered. Any other error is retried with backoff.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/** Handles one event; resolve to ack it, throw to retry it (or {@link PermanentError} to dead-letter it). */
export type EventHandler = (event: HookstreamEvent) => Promise<void> | void;

/** The `hs-dlq-stage` of a team's dead letters. */
export const CONSUMER_DLQ_STAGE = 'consumer';

/** Why the consume loop dead-letters (the `hs-dlq-reason` closed set of {@link CONSUMER_DLQ_STAGE}). */
export type DeadLetterReason = 'permanent_error' | 'max_deliver_exceeded' | 'not_a_hookstream_event';

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /** Aborting stops the loop after the message in hand is settled; {@link consume} then resolves. */
  readonly signal?: AbortSignal | undefined;
  /** The gateway's `HS_NAMESPACE` (empty in production). */
  readonly namespace?: string | undefined;
  /**
   * The consumer was made with `ensureConsumer({ operational: true })`: it
   * lives on the operational events stream `HS_OPS`, not `HS_EVENTS`.
   * (JetStream finds a consumer by stream and name, so the stream must be
   * known before its metadata can be read.)
   */
  readonly operational?: boolean | undefined;
  /**
   * How many messages the client pulls ahead (default 10). The ack wait of a
   * pulled message runs while earlier ones are handled, one at a time: keep
   * `maxMessages × slowest handler` below the consumer's ack wait.
   */
  readonly maxMessages?: number | undefined;
  /** Called for every handler error (to log it), before the nak or dead letter. */
  readonly onError?: ((err: unknown, event: HookstreamEvent | undefined, outcome: 'nak' | 'dead_letter') => void) | undefined;
}

/** Messages pulled ahead by {@link consume} unless `maxMessages` says otherwise. */
const DEFAULT_MAX_MESSAGES = 10;

/** Counts of what {@link consume} did, when it resolves. */
export interface ConsumeStats {
  acked: number;
  naked: number;
  deadLettered: number;
}

/** What a dead letter is built from: an event, or the raw parts of a message that is not one. */
interface DeadLetterSource {
  readonly id: string | undefined;
  readonly subject: string;
  readonly raw: Uint8Array;
  readonly headers: Iterable<[string, string[]]> | undefined;
  readonly deliveryCount: number;
  readonly streamSequence: number;
}

/** One-line detail of an error for `hs-dlq-detail`. */
function errorDetail(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function publishDeadLetter(
  js: JetStreamClient,
  subject: string,
  stream: string,
  source: DeadLetterSource,
  reason: string,
  detail: string | undefined,
): Promise<void> {
  const h = newHeaders();
  for (const [key, values] of source.headers ?? []) {
    // JetStream's own headers (Nats-Msg-Id …) belong to the original publish.
    if (key.toLowerCase().startsWith('nats-')) continue;
    for (const value of values) h.append(key, value);
  }
  deadLetterHeaders(h, {
    stage: CONSUMER_DLQ_STAGE,
    reason,
    detail,
    subject: source.subject,
    atMs: Date.now(),
    deliveries: source.deliveryCount,
  });
  h.set(MSG_ID_HEADER, deadLetterMsgId(source.id, subject, { stream, seq: source.streamSequence }));
  await js.publish(subject, source.raw, { headers: h });
}

/**
 * Publishes `event` to the team's dead-letter subject `teams.{team}.dlq`:
 * the original body and headers plus the `hs-dlq-*` headers (stage
 * `consumer`, `reason`, `detail`), with `Nats-Msg-Id`
 * `{event id}:dlq:teams.{team}.dlq` so the same event dead-lettered twice is
 * stored once. A stream must hold the subject ({@link ensureDeadLetterStream},
 * or the team's own). Resolves once JetStream stored it; throws the
 * JetStream error otherwise (e.g. no stream: "no responders").
 */
export async function deadLetter(
  js: JetStreamClient,
  team: string,
  event: HookstreamEvent,
  reason: string,
  options: { readonly detail?: string; readonly namespace?: string } = {},
): Promise<void> {
  await publishDeadLetter(js, deadLetterSubject(team, options.namespace), eventsStream(options.namespace), event, reason, options.detail);
}

/** The nak delay before redelivery `deliveryCount + 1`: `backoffMs[deliveryCount - 1]`, the last value repeating. Pure. */
export function backoffDelay(backoffMs: readonly number[], deliveryCount: number): number {
  const i = Math.min(Math.max(deliveryCount, 1), backoffMs.length) - 1;
  return backoffMs[i] ?? 0;
}

/** What the loop does with a message once the handler settled: the one decision, made by {@link decide}. */
export type Decision =
  | { readonly kind: 'ack' }
  | { readonly kind: 'nak'; readonly delayMs: number }
  | { readonly kind: 'dead_letter'; readonly reason: DeadLetterReason };

/**
 * The loop's decision for one handled event: ack when the handler resolved
 * (`failure` undefined); dead-letter a {@link PermanentError} or an
 * {@link EnvelopeError} (`permanent_error`) and any failure on delivery
 * `maxDeliver` (`max_deliver_exceeded`); otherwise nak with
 * {@link backoffDelay}. Pure.
 */
export function decide(
  failure: { readonly error: unknown } | undefined,
  deliveryCount: number,
  maxDeliver: number,
  backoffMs: readonly number[],
): Decision {
  if (failure === undefined) return { kind: 'ack' };
  if (failure.error instanceof PermanentError || failure.error instanceof EnvelopeError) {
    return { kind: 'dead_letter', reason: 'permanent_error' };
  }
  if (deliveryCount >= maxDeliver) return { kind: 'dead_letter', reason: 'max_deliver_exceeded' };
  return { kind: 'nak', delayMs: backoffDelay(backoffMs, deliveryCount) };
}

/**
 * Reads the team's consumer `consumerName` (made by {@link ensureConsumer};
 * pass `operational: true` for one made with that flag, on `HS_OPS`)
 * and handles its events one at a time until `signal` aborts: parses each
 * ({@link parseEvent}), calls `handler`, and
 * - acks when it resolves;
 * - naks with the consumer's backoff (by delivery count) when it throws;
 * - dead-letters to the consumer's dead-letter subject and terms when it
 *   throws a {@link PermanentError} or an {@link EnvelopeError} (the body does
 *   not decode), when the delivery count reached the consumer's max deliver,
 *   or when the message is not a hookstream event (reason
 *   `not_a_hookstream_event`). If the dead letter cannot be published the
 *   message is nak'd instead, so nothing is lost.
 * Resolves with counts once stopped by `signal`; rejects when the consumer
 * does not exist or the connection closes.
 */
export async function consume(
  js: JetStreamClient,
  consumerName: string,
  handler: EventHandler,
  options: ConsumeOptions = {},
): Promise<ConsumeStats> {
  const stream = options.operational === true ? operationalStream(options.namespace) : eventsStream(options.namespace);
  const consumer = await js.consumers.get(stream, consumerName);
  const { config } = await consumer.info(true);
  const metadata = config.metadata ?? {};
  const dlqSubject = metadata[CONSUMER_METADATA.deadLetterSubject] ?? deadLetterSubject(consumerName, options.namespace);
  const backoffText = metadata[CONSUMER_METADATA.backoffMs];
  const backoffMs = backoffText ? backoffText.split(',').map(Number) : CONSUMER_DEFAULTS.backoffMs;
  const maxDeliver = config.max_deliver === undefined || config.max_deliver < 1 ? Number.POSITIVE_INFINITY : config.max_deliver;
  const stats: ConsumeStats = { acked: 0, naked: 0, deadLettered: 0 };
  if (options.signal?.aborted) return stats;

  const messages = await consumer.consume({ max_messages: options.maxMessages ?? DEFAULT_MAX_MESSAGES });
  const stop = () => {
    messages.stop();
  };
  options.signal?.addEventListener('abort', stop, { once: true });

  const toDeadLetter = async (msg: JsMsg, source: DeadLetterSource, reason: DeadLetterReason, detail: string): Promise<void> => {
    try {
      await publishDeadLetter(js, dlqSubject, stream, source, reason, detail);
    } catch {
      // Keep the event: JetStream redelivers it, and the next failure tries the dead letter again.
      msg.nak(backoffDelay(backoffMs, msg.info.deliveryCount));
      stats.naked++;
      return;
    }
    msg.term(`${reason}: ${detail}`.slice(0, 200));
    stats.deadLettered++;
  };

  try {
    for await (const msg of messages) {
      // Messages already pulled when the loop stops go back at once, not after the ack wait.
      if (options.signal?.aborted) {
        msg.nak();
        continue;
      }
      let event: HookstreamEvent;
      try {
        event = parseEvent(msg);
      } catch (err) {
        options.onError?.(err, undefined, 'dead_letter');
        const source: DeadLetterSource = {
          id: msg.headers?.get(Header.eventId) || undefined,
          subject: msg.subject,
          raw: msg.data,
          headers: msg.headers,
          deliveryCount: msg.info.deliveryCount,
          streamSequence: msg.info.streamSequence,
        };
        await toDeadLetter(msg, source, 'not_a_hookstream_event', errorDetail(err));
        continue;
      }
      let failure: { error: unknown } | undefined;
      try {
        await handler(event);
      } catch (error) {
        failure = { error };
      }
      const decision = decide(failure, event.deliveryCount, maxDeliver, backoffMs);
      if (failure !== undefined) options.onError?.(failure.error, event, decision.kind === 'nak' ? 'nak' : 'dead_letter');
      switch (decision.kind) {
        case 'ack':
          msg.ack();
          stats.acked++;
          break;
        case 'nak':
          msg.nak(decision.delayMs);
          stats.naked++;
          break;
        case 'dead_letter':
          await toDeadLetter(msg, event, decision.reason, errorDetail(failure?.error));
          break;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    messages.stop();
  }
  return stats;
}
