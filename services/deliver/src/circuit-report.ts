import { hostname } from 'node:os';
import { circuitKey } from '@hookstream/contracts';
import { type CircuitReport, encodeCircuitReport } from '@hookstream/models';
import type { Logger } from '@hookstream/runtime';
import type { KV } from '@nats-io/kv';
import type { CircuitState } from './circuit.ts';

/** How often a replica writes its circuits that are not closed (well within the bucket's TTL). */
export const CIRCUIT_REPORT_INTERVAL_MS = 5_000;

/** This process as a replica name: host name (the pod's, in Kubernetes) and pid. */
export function replicaName(): string {
  return `${hostname()}-${process.pid}`;
}

/** What {@link CircuitReporter} writes to and reads from. */
export interface CircuitReporterOptions {
  readonly kv: Pick<KV, 'put' | 'delete'>;
  readonly replica: string;
  /** The breakers' current states (EndpointGates.circuitStates). */
  readonly states: () => Iterable<[string, CircuitState]>;
  readonly now: () => number;
  readonly logger: Logger;
}

/**
 * Writes the circuits of this replica that are not closed to `hs_circuits`
 * (again at each report, so they stay fresher than the TTL) and deletes the
 * report of one that closed. A failed write is logged and tried again at the
 * next report: the reports are for people, delivery never waits on them.
 */
export class CircuitReporter {
  readonly #o: CircuitReporterOptions;
  // Endpoints whose report is in the bucket (not closed when last written).
  readonly #reported = new Set<string>();

  constructor(options: CircuitReporterOptions) {
    this.#o = options;
  }

  /** One report: puts for open and half-open circuits, deletes for those that closed since. */
  async report(): Promise<void> {
    const { kv, replica, now } = this.#o;
    const seen = new Set<string>();
    for (const [endpoint, state] of this.#o.states()) {
      if (state === 'closed') continue;
      seen.add(endpoint);
      const record: CircuitReport = { endpoint, replica, state, reportedAtMs: now() };
      try {
        await kv.put(circuitKey(endpoint, replica), encodeCircuitReport(record));
        this.#reported.add(endpoint);
      } catch (err) {
        this.#o.logger.warn({ err, endpoint }, 'circuit report failed; retrying at the next report');
      }
    }
    for (const endpoint of [...this.#reported]) {
      if (seen.has(endpoint)) continue;
      try {
        await kv.delete(circuitKey(endpoint, replica));
        this.#reported.delete(endpoint);
      } catch (err) {
        this.#o.logger.warn({ err, endpoint }, 'circuit report delete failed; retrying at the next report');
      }
    }
  }

  /**
   * Reports every `intervalMs` until the returned stop function is called;
   * stopping waits for a running report, then withdraws this replica's
   * reports (a stopped replica has no circuits).
   */
  start(intervalMs = CIRCUIT_REPORT_INTERVAL_MS): () => Promise<void> {
    let running: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => this.report());
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
      for (const endpoint of this.#reported) {
        await this.#o.kv.delete(circuitKey(endpoint, this.#o.replica)).catch(() => undefined);
      }
      this.#reported.clear();
    };
  }
}
