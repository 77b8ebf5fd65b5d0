import type { OperationalPayloadMap } from '@hookstream/contracts';

/** When a source's rejections are announced (`HS_VERIFY_REJECTION_ALERT_*`, docs/operational-events.md). */
export interface RejectionAlertConfig {
  /** Rejected share of a window's requests, in percent, at which it is announced (1..100). */
  readonly percent: number;
  /** The window's length; windows start at multiples of it (epoch ms), the same in every replica. */
  readonly windowMs: number;
  /** Requests a window must have seen before it can be announced (a few bad ones out of three say little). */
  readonly minRequests: number;
}

/** The defaults: 50 % of at least 20 requests in a 60-second window. */
export const REJECTION_ALERT_DEFAULTS: RejectionAlertConfig = Object.freeze({ percent: 50, windowMs: 60_000, minRequests: 20 });

/** A `source.rejection_rate` payload without the replica, which the app adds. */
export type RejectionAlert = Omit<OperationalPayloadMap['source.rejection_rate'], 'replica'>;

interface SourceWindow {
  start: number;
  total: number;
  rejected: number;
  announced: boolean;
}

// Sources counted at most; past it the counts start again (ingest answers 404
// for unknown sources, so only configured ones reach verify).
const MAX_SOURCES = 10_000;

/**
 * Per-source counts of verified and rejected requests in fixed windows
 * (this replica's share). {@link count} answers an alert the first time a
 * window reaches `minRequests` with at least `percent` rejected: at most one
 * per source per window here, and since windows are aligned across replicas
 * and the event id is derived from (source, window start), one in the
 * stream however many replicas cross it. In memory, clock passed in; pure.
 */
export class RejectionRates {
  readonly #config: RejectionAlertConfig;
  readonly #windows = new Map<string, SourceWindow>();

  constructor(config: RejectionAlertConfig = REJECTION_ALERT_DEFAULTS) {
    this.#config = config;
  }

  /** Counts one request of `source` at `nowMs`; returns the alert when this one crosses the threshold, else undefined. */
  count(source: string, rejected: boolean, nowMs: number): RejectionAlert | undefined {
    const { windowMs, minRequests, percent } = this.#config;
    const start = Math.floor(nowMs / windowMs) * windowMs;
    let w = this.#windows.get(source);
    if (w === undefined || w.start !== start) {
      if (w === undefined && this.#windows.size >= MAX_SOURCES) this.#windows.clear();
      w = { start, total: 0, rejected: 0, announced: false };
      this.#windows.set(source, w);
    }
    w.total++;
    if (rejected) w.rejected++;
    if (w.announced || w.total < minRequests || w.rejected * 100 < percent * w.total) return undefined;
    w.announced = true;
    return {
      source,
      window_start: start,
      window_ms: windowMs,
      rejected: w.rejected,
      total: w.total,
      rate: w.rejected / w.total,
      threshold: percent / 100,
    };
  }

  /** The alert for this window could not be published: let the next request of the window try again. */
  retract(alert: RejectionAlert): void {
    const w = this.#windows.get(alert.source);
    if (w !== undefined && w.start === alert.window_start) w.announced = false;
  }
}
