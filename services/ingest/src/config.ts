import { type BaseConfig, EnvReader, readBaseConfig } from '@hookstream/runtime';

/** Everything ingest needs, resolved and frozen. */
export interface IngestConfig extends BaseConfig {
  readonly host: string;
  /** HTTP port for webhooks; 0 picks a free one (tests). */
  readonly port: number;
  /** Default body limit; a source may set its own. Checked at start against the server's `max_payload`. */
  readonly maxBodyBytes: number;
  /**
   * Most bytes of sender headers ingest keeps (as `hs-h-*` NATS headers);
   * also node's limit on a request's header section. Part of the envelope
   * headroom.
   */
  readonly maxHeaderBytes: number;
  /** How long to wait for JetStream's PubAck before answering 503. */
  readonly publishTimeoutMs: number;
  /** Retry-After seconds sent with 503. */
  readonly unavailableRetryAfterSeconds: number;
  /** Slow-loris guards (node:http server settings). */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxRequestsPerSocket: number;
  /** Lower-case header names never captured into `hs-h-*` (credentials, hop-by-hop). */
  readonly dropHeaders: ReadonlySet<string>;
  /** Graceful shutdown: how long in-flight requests get to finish. */
  readonly shutdownGraceMs: number;
}

/**
 * The default body limit, 992 KiB: with the default header limit (16 KiB)
 * and the headers the stages add, the largest round size whose every
 * message (dead letters included) fits nats-server's default `max_payload`
 * of 1 MiB (docs/ingest.md has the arithmetic).
 */
export const DEFAULT_MAX_BODY_BYTES = 992 * 1024;
/** The default limit on captured sender headers: node's own default header limit. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/** Headers that are hop-by-hop, rebuilt by every proxy, or credentials. */
export const DEFAULT_DROPPED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'host',
];

/**
 * Compiles the environment into an {@link IngestConfig}. Throws ConfigError
 * naming every bad variable.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): IngestConfig {
  const r = new EnvReader(env);
  const base = readBaseConfig(r, 'ingest', 9101);
  const config: IngestConfig = {
    ...base,
    host: r.string('HS_INGEST_HOST', '0.0.0.0'),
    port: r.int('HS_INGEST_PORT', 8080, 0, 65535),
    maxBodyBytes: r.int('HS_INGEST_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1, 64 * 1024 * 1024),
    maxHeaderBytes: r.int('HS_INGEST_MAX_HEADER_BYTES', DEFAULT_MAX_HEADER_BYTES, 1_024, 1024 * 1024),
    publishTimeoutMs: r.int('HS_INGEST_PUBLISH_TIMEOUT_MS', 2_000, 50, 60_000),
    unavailableRetryAfterSeconds: r.int('HS_INGEST_RETRY_AFTER_SECONDS', 5, 1, 3_600),
    headersTimeoutMs: r.int('HS_INGEST_HEADERS_TIMEOUT_MS', 10_000, 100, 120_000),
    requestTimeoutMs: r.int('HS_INGEST_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    keepAliveTimeoutMs: r.int('HS_INGEST_KEEPALIVE_TIMEOUT_MS', 5_000, 0, 600_000),
    maxRequestsPerSocket: r.int('HS_INGEST_MAX_REQUESTS_PER_SOCKET', 10_000, 0, 10_000_000),
    dropHeaders: new Set([...DEFAULT_DROPPED_HEADERS, ...r.list('HS_INGEST_DROP_HEADERS', []).map((h) => h.toLowerCase())]),
    shutdownGraceMs: r.int('HS_INGEST_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    r.problem('HS_INGEST_HEADERS_TIMEOUT_MS', 'must not exceed HS_INGEST_REQUEST_TIMEOUT_MS');
  }
  r.done();
  return Object.freeze(config);
}
