import { jetstreamManager } from '@nats-io/jetstream';
import { Bucket, type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger.ts';
import { DEFAULT_JETSTREAM_WAIT_MS, type JetStreamWaitOptions, retryWhileUnavailable } from './streams.ts';

/** Options for {@link openBucket}. */
export interface BucketOptions extends JetStreamWaitOptions {
  /** Replicas of the bucket's stream (`HS_STREAM_REPLICAS`); an existing bucket with another count is brought to it. */
  readonly replicas: number;
  /** Revisions kept per key. */
  readonly history?: number;
  /** Time to live of every entry, in ms (0: forever). */
  readonly ttlMs?: number;
}

/**
 * Opens a KV bucket, creating it when missing, and brings an existing one's
 * replica count to `options.replicas` (as `ensureStreams` does for the
 * streams; its other settings are left as they are). While JetStream
 * cannot answer yet (a cluster electing, a peer down) it retries for up to
 * `options.retryForMs` (30 s by default). Resolves to the bucket; throws
 * TopologyError naming the bucket and the last error.
 */
export async function openBucket(nc: NatsConnection, name: string, options: BucketOptions): Promise<KV> {
  const kvm = new Kvm(nc);
  const deadline = Date.now() + (options.retryForMs ?? DEFAULT_JETSTREAM_WAIT_MS);
  return retryWhileUnavailable(
    `bucket ${name}`,
    async () => {
      const kv = await kvm.create(name, {
        replicas: options.replicas,
        history: options.history ?? 5,
        ...(options.ttlMs ? { ttl: options.ttlMs } : {}),
      });
      const info = (await kv.status()).streamInfo;
      if (info.config.num_replicas !== options.replicas) {
        const jsm = await jetstreamManager(nc, { checkAPI: false });
        await jsm.streams.update(info.config.name, { ...info.config, num_replicas: options.replicas });
      }
      return kv;
    },
    deadline,
    options,
  );
}

/**
 * Every key of a bucket that has an entry, a delete marker's included (read
 * each with `kv.get` and skip what is not a PUT). Not `kv.keys()`: that
 * makes a consumer and returns nothing when its pending count, read just
 * after, is 0, which happens while a key is being written (measured: 30 of
 * 500 listings empty with one key rewritten every 2 ms). This asks the
 * stream for its subjects instead (STREAM.INFO with a subjects filter,
 * paged by the client), which the server answers from its per-subject
 * index in one step. A KV that is not a nats.js Bucket (a unit test's
 * fake) is listed with `keys()`.
 */
export async function bucketKeys(kv: KV): Promise<string[]> {
  if (!(kv instanceof Bucket)) {
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    return keys;
  }
  const prefix = kv.fullKeyName('');
  const info = await kv.jsm.streams.info(kv.stream, { subjects_filter: `${prefix}>` });
  return Object.keys(info.state.subjects ?? {})
    .filter((subject) => subject.startsWith(prefix))
    .map((subject) => kv.decodeKey(subject.slice(prefix.length)));
}

/** A live, read-only in-memory copy of a KV bucket of configuration records. */
export interface ConfigCache<T> {
  /** The current record for a key, or undefined. O(1), no I/O. */
  get(key: string): T | undefined;
  /** Every current record. */
  values(): IterableIterator<T>;
  /** True once the bucket's state at start-up has been loaded. */
  isReady(): boolean;
  /** Resolves once ready. */
  ready(): Promise<void>;
  /** Calls `listener` with the key after every applied put or delete; answers the function that removes it. */
  onChange(listener: (key: string) => void): () => void;
  /** Stops watching. */
  stop(): void;
}

/**
 * Watches a KV bucket and keeps decoded records in memory, applying puts and
 * deletes live. `decode` throws on an invalid record; such a record is logged
 * and the key is treated as absent (a bad write never crashes a service).
 * Resolves once the watch is set up; call `ready()` to wait for the initial load.
 */
export async function watchConfig<T>(kv: KV, decode: (key: string, value: Uint8Array) => T, logger: Logger): Promise<ConfigCache<T>> {
  const records = new Map<string, T>();
  const listeners = new Set<(key: string) => void>();
  const status = await kv.status();
  // The watcher first replays the last value of every key; the bucket's last
  // sequence at start tells when that replay is complete.
  const initialRevision = status.streamInfo.state.last_seq;
  const initialMessages = status.streamInfo.state.messages;
  let ready = initialMessages === 0;
  let markReady: () => void = () => undefined;
  const readyPromise = ready
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        markReady = resolve;
      });
  const iter = await kv.watch();
  void (async () => {
    for await (const entry of iter) {
      if (entry.operation === 'PUT') {
        try {
          records.set(entry.key, decode(entry.key, entry.value));
        } catch (err) {
          records.delete(entry.key);
          logger.error({ err, key: entry.key, bucket: status.bucket }, 'invalid config record ignored');
        }
      } else {
        records.delete(entry.key);
      }
      for (const listener of listeners) listener(entry.key);
      if (!ready && entry.revision >= initialRevision) {
        ready = true;
        markReady();
      }
    }
  })().catch((err: unknown) => logger.error({ err, bucket: status.bucket }, 'config watch failed'));
  return {
    get: (key) => records.get(key),
    values: () => records.values(),
    isReady: () => ready,
    ready: () => readyPromise,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => iter.stop(),
  };
}
