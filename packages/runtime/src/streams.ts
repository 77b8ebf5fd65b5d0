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
 * The six streams of docs/subjects.md for a topology. Pure: no I/O.
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
 * Creates each stream that is missing and updates those whose managed fields
 * differ. Idempotent and safe to run from several services at once (a lost
 * create race is retried as an update). Throws {@link TopologyError} when a
 * stream exists with a different retention policy (which JetStream cannot
 * change in place) or the server refuses the config.
 */
export async function ensureStreams(jsm: JetStreamManager, configs: readonly ManagedStreamConfig[]): Promise<void> {
  for (const wanted of configs) {
    await ensureStream(jsm, wanted, 3);
  }
}

async function ensureStream(jsm: JetStreamManager, wanted: ManagedStreamConfig, attempts: number): Promise<void> {
  try {
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
  } catch (err) {
    if (err instanceof TopologyError) throw err;
    if (attempts > 1) {
      await ensureStream(jsm, wanted, attempts - 1);
      return;
    }
    throw new TopologyError(`cannot create or update stream ${wanted.name}: ${(err as Error).message}`, { cause: err });
  }
}
