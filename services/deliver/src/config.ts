import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';
import { parseCidrs } from './ssrf.ts';

/** Everything deliver needs, resolved and frozen (`HS_DELIVER_*` stage settings plus deliver's own). */
export interface DeliverConfig extends BaseConfig, StageSettings {
  /** CIDRs the SSRF guard lets through even though they are private, loopback, … (`HS_DELIVER_ALLOW_CIDRS`). */
  readonly allowCidrs: readonly string[];
  /** The `user-agent` of every POST (`HS_DELIVER_USER_AGENT`, default `hookstream/0.1`). */
  readonly userAgent: string;
  /** How often the delivery stream is scanned for tasks whose endpoint has no consumer (`HS_DELIVER_SCAN_INTERVAL_MS`). */
  readonly scanIntervalMs: number;
  /** The retry consumer's `max_ack_pending`: tasks waiting out a backoff at once (`HS_DELIVER_RETRY_MAX_PENDING`). */
  readonly retryMaxPending: number;
  /**
   * How long the `hs_delivered` bucket keeps a delivery's marker, its
   * `max_age` (`HS_DELIVER_DELIVERED_TTL_MS`): a copy of a delivered task
   * that arrives later is POSTed again (docs/delivery.md, "Duplicates a
   * subscriber can see"). At least twice the ack wait.
   */
  readonly deliveredTtlMs: number;
}

/** Deliver's defaults where they differ from every stage's (see docs/delivery.md). */
export const DELIVER_DEFAULTS = Object.freeze({
  /**
   * Tasks handled at once per replica, over all endpoints (each endpoint's
   * own limit is its consumer's `max_ack_pending`): mostly waiting on the
   * network, so far more than a CPU-bound stage.
   */
  concurrency: 256,
  /**
   * Deliveries of one task message before the worker dead-letters it as a
   * poison message. Each attempt is a new message, but throttle and circuit
   * deferrals are naks that count; see docs/delivery.md ("Throttling").
   */
  maxDeliver: 1_000,
  healthPort: 9106,
  userAgent: 'hookstream/0.1',
  scanIntervalMs: 10_000,
  /** Past this many tasks waiting out a backoff, the next due ones wait in the stream until one is released. */
  retryMaxPending: 20_000,
  /**
   * 15 min: a broker restart plus the ack wait (30 s) is well inside it, and
   * so are the republished copies seen after broker crashes (4–48 s later).
   */
  deliveredTtlMs: 900_000,
});

/** Compiles the environment into a {@link DeliverConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): DeliverConfig {
  const r = new EnvReader(env);
  const stage = readStageSettings(r, 'DELIVER');
  const allowCidrs = r.list('HS_DELIVER_ALLOW_CIDRS', []);
  try {
    parseCidrs(allowCidrs);
  } catch (err) {
    r.problem('HS_DELIVER_ALLOW_CIDRS', (err as Error).message);
  }
  const unset = (name: string): boolean => env[name] === undefined || env[name] === '';
  const config: DeliverConfig = {
    ...readBaseConfig(r, 'deliver', DELIVER_DEFAULTS.healthPort),
    ...stage,
    concurrency: unset('HS_DELIVER_CONCURRENCY') ? DELIVER_DEFAULTS.concurrency : stage.concurrency,
    maxDeliver: unset('HS_DELIVER_MAX_DELIVER') ? DELIVER_DEFAULTS.maxDeliver : stage.maxDeliver,
    allowCidrs: Object.freeze(allowCidrs),
    userAgent: r.string('HS_DELIVER_USER_AGENT', DELIVER_DEFAULTS.userAgent),
    scanIntervalMs: r.int('HS_DELIVER_SCAN_INTERVAL_MS', DELIVER_DEFAULTS.scanIntervalMs, 100, 3_600_000),
    retryMaxPending: r.int('HS_DELIVER_RETRY_MAX_PENDING', DELIVER_DEFAULTS.retryMaxPending, 1, 1_000_000),
    deliveredTtlMs: r.int('HS_DELIVER_DELIVERED_TTL_MS', DELIVER_DEFAULTS.deliveredTtlMs, 60_000, 259_200_000),
  };
  if (config.deliveredTtlMs < 2 * config.ackWaitMs) {
    r.problem('HS_DELIVER_DELIVERED_TTL_MS', `must be at least twice HS_DELIVER_ACK_WAIT_MS (${2 * config.ackWaitMs} ms)`);
  }
  r.done();
  return Object.freeze(config);
}
