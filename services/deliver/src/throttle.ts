import type { EndpointConfig } from '@hookstream/models';
import { CircuitBreaker } from './circuit.ts';

/** Shortest and longest wait of a task held back by a half-open circuit while its probe is out. */
export const PROBE_WAIT_MS = Object.freeze({ min: 50, max: 1_000 });

/**
 * What a finished request says about the endpoint's health: it answered
 * (`success`, also for a 4xx), a retryable failure, or nothing (`none`: the
 * request was never sent, e.g. refused by the SSRF guard).
 */
export type Verdict = 'success' | 'failure' | 'none';

/** Permission to send one request; settle it exactly once. */
export interface Pass {
  /** Reports the result to the circuit breaker. */
  done(verdict: Verdict, latencyMs: number): void;
}

/**
 * A circuit that changed between closed and not closed: `opened` when
 * failures open a closed circuit, `closed` when a probe (or any answer)
 * closes it again. A failed probe re-opening it is no change.
 */
export type CircuitChange = 'opened' | 'closed';

/** What {@link EndpointGates.admit} answers. */
export type Admission = { readonly kind: 'send'; readonly pass: Pass } | { readonly kind: 'wait'; readonly delayMs: number };

interface GateState {
  inFlight: number;
  readonly circuit: CircuitBreaker;
}

/**
 * Per-endpoint circuit breakers, in memory per replica, and a count of the
 * requests in flight (for metrics and tests). Concurrency and rate are not
 * gated here: the endpoint's consumer enforces them in the server
 * (`max_ack_pending`, held acks; docs/delivery.md). A task refused by an open
 * circuit gets the rest of the open time plus jitter as its delay; while a
 * half-open probe is out, the others get a short jittered delay. Clock and
 * random injected. `onChange` hears every {@link CircuitChange} (deliver
 * publishes it as an operational event); it must not throw.
 */
export class EndpointGates {
  readonly #states = new Map<string, GateState>();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #onChange: ((endpointId: string, change: CircuitChange, atMs: number) => void) | undefined;

  constructor(
    now: () => number = Date.now,
    random: () => number = Math.random,
    onChange?: (endpointId: string, change: CircuitChange, atMs: number) => void,
  ) {
    this.#now = now;
    this.#random = random;
    this.#onChange = onChange;
  }

  #state(endpointId: string): GateState {
    let s = this.#states.get(endpointId);
    if (s === undefined) {
      s = { inFlight: 0, circuit: new CircuitBreaker() };
      this.#states.set(endpointId, s);
    }
    return s;
  }

  /** Asks to send one request to `endpoint` now. */
  admit(endpoint: EndpointConfig): Admission {
    const nowMs = this.#now();
    const s = this.#state(endpoint.id);
    const probeWait = Math.round(
      Math.min(PROBE_WAIT_MS.max, Math.max(PROBE_WAIT_MS.min, Math.min(endpoint.timeoutMs, PROBE_WAIT_MS.max) * (0.5 + this.#random()))),
    );
    const circuit = s.circuit.admit(nowMs, probeWait);
    if (circuit.kind === 'wait') {
      const jitter = this.#random() * Math.min(5_000, Math.max(PROBE_WAIT_MS.min, endpoint.circuit.openMs * 0.2));
      return { kind: 'wait', delayMs: Math.round(circuit.delayMs + jitter) };
    }
    s.inFlight++;
    let settled = false;
    return {
      kind: 'send',
      pass: {
        done: (verdict) => {
          if (settled) return;
          settled = true;
          s.inFlight--;
          const atMs = this.#now();
          const wasClosed = s.circuit.state(atMs) === 'closed';
          if (verdict === 'success') s.circuit.onSuccess();
          else if (verdict === 'failure') s.circuit.onFailure(atMs, endpoint.circuit);
          else s.circuit.cancelProbe();
          const isClosed = s.circuit.state(atMs) === 'closed';
          if (wasClosed !== isClosed) this.#onChange?.(endpoint.id, isClosed ? 'closed' : 'opened', atMs);
        },
      },
    };
  }

  /** Each endpoint's circuit state now (for metrics). */
  *circuitStates(): IterableIterator<[string, ReturnType<CircuitBreaker['state']>]> {
    const nowMs = this.#now();
    for (const [id, s] of this.#states) yield [id, s.circuit.state(nowMs)];
  }

  /** Requests in flight to an endpoint from this replica (for tests and metrics). */
  inFlight(endpointId: string): number {
    return this.#states.get(endpointId)?.inFlight ?? 0;
  }

  /** The circuit state of an endpoint (closed when never seen). */
  circuitState(endpointId: string): 'closed' | 'open' | 'half-open' {
    return this.#states.get(endpointId)?.circuit.state(this.#now()) ?? 'closed';
  }

  /** Forgets an endpoint's state (it was deleted). */
  forget(endpointId: string): void {
    this.#states.delete(endpointId);
  }
}
