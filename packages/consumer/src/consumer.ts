import { OPERATIONAL_KINDS } from '@hookstream/contracts';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

/**
 * The recommended consumer settings, in one place. Every option of
 * {@link ensureConsumer} not given takes its value from here.
 */
export const CONSUMER_DEFAULTS = Object.freeze({
  /** The gateway's events stream (`events.>`, kept 7 days by default). */
  stream: 'HS_EVENTS',
  /** The gateway's operational events stream (`hs.ops.>`, docs/operational-events.md), read with `operational: true`. */
  operationalStream: 'HS_OPS',
  /** Only events published after the consumer is created; `'all'` replays the stream's whole retention. */
  startAt: 'new' as const,
  /** How long one delivery may take before JetStream redelivers it (a crashed or stuck handler). */
  ackWaitMs: 30_000,
  /** Deliveries before the consume loop dead-letters an event that keeps failing. */
  maxDeliver: 8,
  /** Delay before the n-th redelivery after a thrown error (nak); the last value repeats. */
  backoffMs: Object.freeze([1_000, 5_000, 15_000, 60_000, 300_000]) as readonly number[],
  /** How long the team's dead-letter stream keeps a message ({@link ensureDeadLetterStream}). */
  deadLetterMaxAgeMs: 30 * 24 * 3_600_000,
});

/** Where the consumer starts: `'new'` (default), `'all'` (replays the whole retention), a time, or a stream sequence. */
export type StartAt = 'new' | 'all' | Date | number;

/** Options of {@link ensureConsumer}. */
export interface ConsumerOptions {
  /** The team: `[A-Za-z0-9_-]{1,64}`; it names the durable consumer and the dead-letter subject. */
  readonly team: string;
  /**
   * Read hookstream's own operational events (`hs.ops.{kind}`, stream
   * `HS_OPS`, docs/operational-events.md) instead of providers' events: the
   * durable is made on `HS_OPS`, `types` are kinds (`endpoint.*`,
   * `delivery.exhausted`; default every kind) and `sources` is refused.
   * {@link consume} reads it with the same flag.
   */
  readonly operational?: boolean | undefined;
  /** Source ids to receive (default: every source). `*` is allowed. Not with `operational`. */
  readonly sources?: readonly string[] | undefined;
  /**
   * Event types to receive, with NATS wildcards (`payment_intent.*`,
   * `payment_intent.>`); default every type. With `operational`, each
   * pattern must match at least one operational kind.
   */
  readonly types?: readonly string[] | undefined;
  /**
   * Where a NEW consumer starts (ignored when it exists: JetStream cannot
   * change it). Default `'new'`. WARNING: `'all'` replays every event the
   * stream still holds: up to its retention, 7 days by default.
   */
  readonly startAt?: StartAt | undefined;
  /** Default {@link CONSUMER_DEFAULTS}.ackWaitMs. */
  readonly ackWaitMs?: number | undefined;
  /** Default {@link CONSUMER_DEFAULTS}.maxDeliver. */
  readonly maxDeliver?: number | undefined;
  /** Default {@link CONSUMER_DEFAULTS}.backoffMs. */
  readonly backoffMs?: readonly number[] | undefined;
  /** The gateway's `HS_NAMESPACE` (empty in production; tests use it to stay isolated). */
  readonly namespace?: string | undefined;
}

/** What {@link resolveConsumerConfig} makes of {@link ConsumerOptions}: every default applied. */
export interface ResolvedConsumer {
  readonly stream: string;
  readonly name: string;
  readonly config: Readonly<ConsumerConfig>;
  readonly deadLetterSubject: string;
  readonly backoffMs: readonly number[];
}

/** Options that cannot make a consumer (a bad team name, an empty source, a misplaced `>`). */
export class ConsumerOptionsError extends Error {
  override readonly name = 'ConsumerOptionsError';
}

/** Metadata keys the kit stores on the consumer, so {@link consume} needs only the consumer's name. */
export const CONSUMER_METADATA = Object.freeze({
  team: 'hs-team',
  deadLetterSubject: 'hs-dlq-subject',
  backoffMs: 'hs-backoff-ms',
});

const TEAM = /^[A-Za-z0-9_-]{1,64}$/;
const SOURCE = /^(?:\*|[A-Za-z0-9_-]{1,64})$/;
const TYPE_TOKEN = /^[^\s.*>]+$|^\*$/;

const prefix = (namespace: string) => (namespace === '' ? '' : `${namespace}.`);

/** The events stream of a namespace: `HS_EVENTS` (production) or `{ns}_HS_EVENTS`. Pure. */
export function eventsStream(namespace = ''): string {
  return namespace === '' ? CONSUMER_DEFAULTS.stream : `${namespace}_${CONSUMER_DEFAULTS.stream}`;
}

/** The operational events stream of a namespace: `HS_OPS` (production) or `{ns}_HS_OPS`. Pure. */
export function operationalStream(namespace = ''): string {
  return namespace === '' ? CONSUMER_DEFAULTS.operationalStream : `${namespace}_${CONSUMER_DEFAULTS.operationalStream}`;
}

/** The durable consumer name of a team (the team id itself, checked). Throws {@link ConsumerOptionsError}. Pure. */
export function consumerName(team: string): string {
  if (!TEAM.test(team)) throw new ConsumerOptionsError(`team must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(team)}`);
  return team;
}

/**
 * The team's dead-letter subject: `teams.{team}.dlq` (with `HS_NAMESPACE`:
 * `{ns}.teams.{team}.dlq`). Outside `events.>` and `hs.>`, so it overlaps
 * none of the gateway's streams. Throws {@link ConsumerOptionsError}. Pure.
 */
export function deadLetterSubject(team: string, namespace = ''): string {
  return `${prefix(namespace)}teams.${consumerName(team)}.dlq`;
}

/** The stream {@link ensureDeadLetterStream} creates: `TEAM_{team}_DLQ` (`{ns}_TEAM_{team}_DLQ`). Pure. */
export function deadLetterStream(team: string, namespace = ''): string {
  const name = `TEAM_${consumerName(team)}_DLQ`;
  return namespace === '' ? name : `${namespace}_${name}`;
}

/**
 * The filter subjects for `sources` × `types`: `events.{source}.{type}`,
 * `*` for every source and `>` for every type. Throws
 * {@link ConsumerOptionsError} for a bad source id or type pattern. Pure.
 */
export function filterSubjects(sources: readonly string[] | undefined, types: readonly string[] | undefined, namespace = ''): string[] {
  const ss = sources === undefined || sources.length === 0 ? ['*'] : sources;
  const ts = types === undefined || types.length === 0 ? ['>'] : types;
  for (const s of ss) {
    if (!SOURCE.test(s)) throw new ConsumerOptionsError(`source must be * or match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(s)}`);
  }
  for (const t of ts) {
    const tokens = t.split('.');
    const ok = tokens.every((token, i) => TYPE_TOKEN.test(token) || (token === '>' && i === tokens.length - 1));
    if (!ok) throw new ConsumerOptionsError(`event type pattern ${JSON.stringify(t)}: tokens are names, * or a final >`);
  }
  if (ss.includes('*') && ts.includes('>')) return [`${prefix(namespace)}events.>`];
  return ss.flatMap((s) => ts.map((t) => `${prefix(namespace)}events.${s}.${t}`));
}

/** Whether the NATS subject pattern `pattern` (tokens, `*`, a final `>`) matches `subject`. Pure. */
function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/**
 * The filter subjects of an operational consumer: `hs.ops.{pattern}` for
 * each of `types` (default `hs.ops.>`, every kind). Throws
 * {@link ConsumerOptionsError} for a malformed pattern or one that matches
 * no operational kind (a typo would otherwise receive nothing, silently). Pure.
 */
export function operationalFilterSubjects(types: readonly string[] | undefined, namespace = ''): string[] {
  const ts = types === undefined || types.length === 0 ? ['>'] : types;
  for (const t of ts) {
    const tokens = t.split('.');
    const ok = tokens.every((token, i) => TYPE_TOKEN.test(token) || (token === '>' && i === tokens.length - 1));
    if (!ok) throw new ConsumerOptionsError(`operational kind pattern ${JSON.stringify(t)}: tokens are names, * or a final >`);
    if (!OPERATIONAL_KINDS.some((kind) => subjectMatches(t, kind))) {
      throw new ConsumerOptionsError(`operational kind pattern ${JSON.stringify(t)} matches none of ${OPERATIONAL_KINDS.join(', ')}`);
    }
  }
  // operationalEventSubject's grammar (`hs.ops.{kind}`) with a pattern in place of the kind.
  return ts.map((t) => `${prefix(namespace)}hs.ops.${t}`);
}

/**
 * Applies {@link CONSUMER_DEFAULTS} to `options`: the consumer's name, its
 * JetStream config (durable, explicit ack, filter subjects, ack wait, max
 * deliver, deliver policy, metadata for {@link consume}) and its dead-letter
 * subject. Throws {@link ConsumerOptionsError}. Pure.
 */
export function resolveConsumerConfig(options: ConsumerOptions): ResolvedConsumer {
  const namespace = options.namespace ?? '';
  const name = consumerName(options.team);
  const ackWaitMs = options.ackWaitMs ?? CONSUMER_DEFAULTS.ackWaitMs;
  const maxDeliver = options.maxDeliver ?? CONSUMER_DEFAULTS.maxDeliver;
  const backoffMs = options.backoffMs ?? CONSUMER_DEFAULTS.backoffMs;
  if (!(ackWaitMs >= 1_000)) throw new ConsumerOptionsError(`ackWaitMs must be at least 1000, got ${ackWaitMs}`);
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1)
    throw new ConsumerOptionsError(`maxDeliver must be a positive integer, got ${maxDeliver}`);
  if (backoffMs.length === 0 || backoffMs.some((ms) => !Number.isInteger(ms) || ms < 0)) {
    throw new ConsumerOptionsError('backoffMs must be a non-empty list of non-negative integers');
  }
  if (options.operational === true && options.sources !== undefined) {
    throw new ConsumerOptionsError('sources cannot be given with operational: operational events all come from _hookstream');
  }
  const dlq = deadLetterSubject(name, namespace);
  const startAt = options.startAt ?? CONSUMER_DEFAULTS.startAt;
  const start: Partial<ConsumerConfig> =
    startAt === 'new'
      ? { deliver_policy: DeliverPolicy.New }
      : startAt === 'all'
        ? { deliver_policy: DeliverPolicy.All }
        : startAt instanceof Date
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: startAt.toISOString() }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAt };
  const config: ConsumerConfig = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    filter_subjects:
      options.operational === true
        ? operationalFilterSubjects(options.types, namespace)
        : filterSubjects(options.sources, options.types, namespace),
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver,
    ...start,
    metadata: {
      [CONSUMER_METADATA.team]: name,
      [CONSUMER_METADATA.deadLetterSubject]: dlq,
      [CONSUMER_METADATA.backoffMs]: backoffMs.join(','),
    },
  } as ConsumerConfig;
  const stream = options.operational === true ? operationalStream(namespace) : eventsStream(namespace);
  return Object.freeze({ stream, name, config: Object.freeze(config), deadLetterSubject: dlq, backoffMs });
}

const isApiError = (err: unknown, code: number) => err instanceof JetStreamApiError && err.code === code;

/**
 * Creates the team's durable pull consumer on the events stream (on the
 * operational events stream `HS_OPS` with `operational: true`), or brings
 * an existing one up to date (filter subjects, ack wait, max deliver,
 * metadata; the start position of an existing consumer is kept: JetStream
 * cannot change it). Idempotent: the same options again change nothing.
 * Resolves with the consumer's info. Throws {@link ConsumerOptionsError} for
 * bad options and the JetStream error when the stream is missing or the
 * server refuses (e.g. overlapping filter subjects).
 */
export async function ensureConsumer(jsm: JetStreamManager, options: ConsumerOptions): Promise<ConsumerInfo> {
  const resolved = resolveConsumerConfig(options);
  let existing: ConsumerInfo | undefined;
  try {
    existing = await jsm.consumers.info(resolved.stream, resolved.name);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (existing === undefined) return jsm.consumers.add(resolved.stream, resolved.config);
  const c = resolved.config;
  const same =
    JSON.stringify(existing.config.filter_subjects ?? [existing.config.filter_subject]) === JSON.stringify(c.filter_subjects) &&
    existing.config.ack_wait === c.ack_wait &&
    existing.config.max_deliver === c.max_deliver &&
    Object.entries(c.metadata ?? {}).every(([k, v]) => existing.config.metadata?.[k] === v);
  if (same) return existing;
  return jsm.consumers.update(resolved.stream, resolved.name, {
    filter_subjects: c.filter_subjects,
    ack_wait: c.ack_wait,
    max_deliver: c.max_deliver,
    metadata: { ...existing.config.metadata, ...c.metadata },
  });
}

/**
 * Creates the team's dead-letter stream `TEAM_{team}_DLQ` on
 * `teams.{team}.dlq` (limits retention, file storage, kept
 * {@link CONSUMER_DEFAULTS}.deadLetterMaxAgeMs, 2-minute duplicate window so
 * a dead letter published twice is stored once), or leaves an existing one
 * alone. A team that owns its streams may create it itself instead; the
 * subject is what {@link deadLetter} publishes to. Resolves with its info.
 */
export async function ensureDeadLetterStream(
  jsm: JetStreamManager,
  options: { readonly team: string; readonly namespace?: string; readonly maxAgeMs?: number; readonly replicas?: number },
): Promise<StreamInfo> {
  const name = deadLetterStream(options.team, options.namespace);
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  return jsm.streams.add({
    name,
    subjects: [deadLetterSubject(options.team, options.namespace)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(options.maxAgeMs ?? CONSUMER_DEFAULTS.deadLetterMaxAgeMs),
    duplicate_window: nanos(120_000),
    num_replicas: options.replicas ?? 1,
  });
}
