import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { TopologyError } from './errors.ts';
import type { Topology } from './topology.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Options that shape the streams: replicas and retention. */
export interface StreamOptions {
  readonly replicas: number;
  readonly eventsMaxAgeHours: number;
  /** Duplicate window for `Nats-Msg-Id` (2 minutes by default). */
  readonly duplicateWindowMs?: number;
}

/** The subset of a StreamConfig that hookstream manages and keeps in sync. */
export type ManagedStreamConfig = Pick<
  StreamConfig,
  'name' | 'subjects' | 'retention' | 'storage' | 'max_age' | 'duplicate_window' | 'num_replicas' | 'discard' | 'description'
>;

/**
 * The seven streams of docs/subjects.md for a topology. Pure: no I/O.
 * Work-queue streams hand messages from one stage to the next; limits streams
 * keep history (raw archive, events for internal teams, dead letters).
 */
export function streamConfigs(t: Topology, options: StreamOptions): ManagedStreamConfig[] {
  const dup = nanos(options.duplicateWindowMs ?? 2 * 60_000);
  const base = {
    storage: StorageType.File,
    num_replicas: options.replicas,
    duplicate_window: dup,
    discard: DiscardPolicy.Old,
  };
  return [
    {
      ...base,
      name: t.streams.raw,
      description: 'hookstream: raw webhooks as received (archive, 7 days)',
      subjects: [t.subject('hs.raw.>')],
      retention: RetentionPolicy.Limits,
      max_age: nanos(7 * DAY_MS),
    },
    {
      ...base,
      name: t.streams.pipe,
      description: 'hookstream: hand-off between verify, dedup, validate and route',
      subjects: [t.subject('hs.verified.>'), t.subject('hs.unique.>'), t.subject('hs.valid.>')],
      retention: RetentionPolicy.Workqueue,
      max_age: 0,
    },
    {
      ...base,
      name: t.streams.events,
      description: 'hookstream: verified, unique, valid events for internal teams',
      subjects: [t.subject('events.>')],
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.eventsMaxAgeHours * HOUR_MS),
    },
    {
      ...base,
      name: t.streams.delivery,
      description: 'hookstream: one task per (event, endpoint)',
      subjects: [t.subject('hs.deliver.>'), t.subject('hs.retry.>')],
      retention: RetentionPolicy.Workqueue,
      max_age: 0,
    },
    {
      ...base,
      name: t.streams.dlq,
      description: 'hookstream: dead letters with their reason (30 days)',
      subjects: [t.subject('hs.dlq.>')],
      retention: RetentionPolicy.Limits,
      max_age: nanos(30 * DAY_MS),
    },
    {
      ...base,
      name: t.streams.obs,
      description: 'hookstream: analytics records for the ClickHouse sink',
      subjects: [t.subject('hs.obs.>')],
      retention: RetentionPolicy.Workqueue,
      max_age: 0,
    },
    {
      ...base,
      // Apart from HS_EVENTS, so a team's consumer of `events.>` sees only its providers' events.
      name: t.streams.ops,
      description: 'hookstream: operational events (endpoint disabled, circuit opened, delivery exhausted, ...)',
      subjects: [t.subject('hs.ops.>')],
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.eventsMaxAgeHours * HOUR_MS),
    },
  ];
}

function sameSubjects(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...(b ?? [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function needsUpdate(current: StreamConfig, wanted: ManagedStreamConfig): boolean {
  return (
    !sameSubjects(current.subjects, wanted.subjects) ||
    current.max_age !== wanted.max_age ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.num_replicas !== wanted.num_replicas ||
    current.description !== wanted.description
  );
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/**
 * How long {@link ensureStreams} and `openBucket` keep retrying while
 * JetStream cannot answer (a cluster electing its leaders, a node
 * restarting, no quorum): 30 s.
 */
export const DEFAULT_JETSTREAM_WAIT_MS = 30_000;

/** Options for {@link ensureStreams} (and `openBucket`) while JetStream is not yet available. */
export interface JetStreamWaitOptions {
  /**
   * Keep retrying transient JetStream errors ({@link isJetStreamUnavailable})
   * for this long in total, ms ({@link DEFAULT_JETSTREAM_WAIT_MS} by
   * default; 0 tries once). One request that is already under way may
   * overrun it by its own timeout (5 s).
   */
  readonly retryForMs?: number;
  /** Called before each wait, e.g. to log it. */
  readonly onRetry?: (retry: { readonly what: string; readonly error: Error; readonly attempt: number; readonly delayMs: number }) => void;
}

// JetStream API error codes (nats-server's errors.json) that a cluster
// answers while it is electing or missing peers; they pass once leaders are
// elected and peers are back.
const TRANSIENT_API_CODES = new Set([
  10005, // no suitable peers for placement (a peer is down)
  10008, // JetStream system temporarily unavailable
  10009, // JetStream cluster can not handle request (not the leader)
  10023, // insufficient resources (a peer is down)
  10041, // raft proposal failed
  10118, // stream is offline
  10119, // consumer is offline
]);

/**
 * Whether an error from a JetStream API request says JetStream cannot answer
 * *yet*: a request timeout, no responders (no server has JetStream up yet,
 * or none is reachable), a 503 from `$JS.API`, or a cluster error from
 * {@link TRANSIENT_API_CODES} (electing, a peer down, no quorum). False for
 * errors a retry cannot fix (a bad config, a closed connection).
 */
export function isJetStreamUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof JetStreamApiError) return e.status === 503 || TRANSIENT_API_CODES.has(e.code);
    // By name: the client's error classes, whichever copy of the module threw them.
    if (e.name === 'TimeoutError' || e.name === 'NoResponders') return true;
    if (e.name === 'RequestError' && (e as Error & { isNoResponders?: () => boolean }).isNoResponders?.() === true) return true;
  }
  return false;
}

/**
 * Runs `attempt` until it resolves, retrying with backoff (250 ms doubling
 * to 2 s, with jitter) while it throws an error {@link isJetStreamUnavailable}
 * recognises, until `deadline` (ms since the epoch). Throws
 * {@link TopologyError} naming `what` and the last error when the deadline
 * passes or at once when the error is not transient.
 */
export async function retryWhileUnavailable<T>(
  what: string,
  attempt: () => Promise<T>,
  deadline: number,
  options: Pick<JetStreamWaitOptions, 'onRetry'> = {},
): Promise<T> {
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof TopologyError) throw err;
      const error = err instanceof Error ? err : new Error(String(err));
      if (!isJetStreamUnavailable(error)) throw new TopologyError(`cannot create or update ${what}: ${error.message}`, { cause: err });
      const delayMs = Math.round(Math.min(2_000, 250 * 2 ** (n - 1)) * (0.8 + Math.random() * 0.4));
      if (Date.now() + delayMs > deadline) {
        throw new TopologyError(
          `cannot create or update ${what}: JetStream did not become available within ${Date.now() - started} ms ` +
            `(${n} attempts; a cluster without a leader or quorum, or a peer down?); last error: ${describe(error)}`,
          { cause: err },
        );
      }
      options.onRetry?.({ what, error, attempt: n, delayMs });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function describe(err: Error): string {
  if (err instanceof JetStreamApiError) return `${err.message} (JetStream API error ${err.code}, status ${err.status})`;
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.name}: ${err.message}${cause}`;
}

/**
 * Creates each stream that is missing and updates those whose managed fields
 * (replicas among them) differ. Idempotent and safe to run from several
 * services at once (a lost create race is retried as an update). While
 * JetStream cannot answer yet (a cluster still electing, a node down: see
 * {@link isJetStreamUnavailable}) it retries with backoff for up to
 * `options.retryForMs` in total (30 s by default). Throws
 * {@link TopologyError}, naming the stream and the last error, when that
 * passes, when a stream exists with a different retention policy (which
 * JetStream cannot change in place) or when the server refuses the config.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  configs: readonly ManagedStreamConfig[],
  options: JetStreamWaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.retryForMs ?? DEFAULT_JETSTREAM_WAIT_MS);
  for (const wanted of configs) {
    await retryWhileUnavailable(
      `stream ${wanted.name}`,
      async () => {
        // A lost create race (two services at once, different configs) fails with "already in use"; the next try updates.
        for (let tries = 3; ; tries--) {
          try {
            return await ensureStream(jsm, wanted);
          } catch (err) {
            if (tries <= 1 || err instanceof TopologyError || isJetStreamUnavailable(err)) throw err;
          }
        }
      },
      deadline,
      options,
    );
  }
}

async function ensureStream(jsm: JetStreamManager, wanted: ManagedStreamConfig): Promise<void> {
  let info: Awaited<ReturnType<JetStreamManager['streams']['info']>> | undefined;
  try {
    info = await jsm.streams.info(wanted.name);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (info === undefined) {
    await jsm.streams.add(wanted);
    return;
  }
  if (info.config.retention !== wanted.retention) {
    throw new TopologyError(
      `stream ${wanted.name} has retention ${info.config.retention}, wanted ${wanted.retention}; it must be recreated by an operator`,
    );
  }
  if (needsUpdate(info.config, wanted)) {
    await jsm.streams.update(wanted.name, { ...info.config, ...wanted });
  }
}
