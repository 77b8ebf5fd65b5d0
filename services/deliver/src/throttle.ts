import type { EndpointConfig } from '@hookstream/runtime';
import { CircuitBreaker } from './circuit.ts';

/**
 * A token bucket: `ratePerSecond` tokens a second, holding at most
 * `max(1, ratePerSecond)` (one second's worth of burst). The clock is
 * injected; no timers.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;
  #rate: number;

  constructor(ratePerSecond: number, nowMs: number) {
    this.#rate = ratePerSecond;
    this.#tokens = Math.max(1, ratePerSecond);
    this.#at = nowMs;
  }

  /** Takes a token at `nowMs` and answers 0, or answers the ms until one will be there (taking nothing). */
  take(nowMs: number, ratePerSecond: number): number {
    if (ratePerSecond !== this.#rate) this.#rate = ratePerSecond;
    const capacity = Math.max(1, this.#rate);
    this.#tokens = Math.min(capacity, this.#tokens + (Math.max(0, nowMs - this.#at) * this.#rate) / 1000);
    this.#at = nowMs;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }
}

/** Shortest and longest delay of a throttle nak (docs/delivery.md). */
export const THROTTLE_DELAY_MS = Object.freeze({ min: 50, max: 1_000 });

/**
 * What a finished request says about the endpoint's health: it answered
 * (`success`, also for a 4xx), a retryable failure, or nothing (`none`: the
 * request was never sent, e.g. refused by the SSRF guard).
 */
export type Verdict = 'success' | 'failure' | 'none';

/** Permission to send one request; settle it exactly once. */
export interface Pass {
  /** Releases the concurrency slot and reports the result to the circuit breaker. */
  done(verdict: Verdict, latencyMs: number): void;
}

/** What {@link EndpointGates.admit} answers. */
export type Admission =
  | { readonly kind: 'send'; readonly pass: Pass }
  | { readonly kind: 'wait'; readonly delayMs: number; readonly why: 'circuit' | 'concurrency' | 'rate' };

interface GateState {
  inFlight: number;
  latencyMs: number;
  readonly circuit: CircuitBreaker;
  bucket: TokenBucket | undefined;
  /** Tasks waiting in memory for a slot, woken in order as requests end. */
  readonly waiting: (() => void)[];
}

/** Tasks that may wait in memory for an endpoint's slot, per unit of its `maxConcurrency`. */
export const LOCAL_QUEUE_FACTOR = 2;
/** The longest a task waits in memory for a slot before it is nak'ed instead. */
export const MAX_LOCAL_WAIT_MS = 1_000;

/**
 * Per-endpoint admission, in memory: the circuit breaker, at most
 * `maxConcurrency` requests in flight, and the optional token bucket
 * (`rateLimitPerSecond`). Nothing waits here: a request that may not go now
 * gets a delay, and the caller naks its task with it so the consumer keeps
 * pulling work for other endpoints. Throttle delays aim at when a slot or a
 * token is likely free, jittered, within {@link THROTTLE_DELAY_MS}; circuit
 * delays are the rest of the open time plus jitter. Clock and random injected.
 */
export class EndpointGates {
  readonly #states = new Map<string, GateState>();
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(now: () => number = Date.now, random: () => number = Math.random) {
    this.#now = now;
    this.#random = random;
  }

  #state(endpoint: EndpointConfig, nowMs: number): GateState {
    let s = this.#states.get(endpoint.id);
    if (s === undefined) {
      s = { inFlight: 0, latencyMs: 100, circuit: new CircuitBreaker(), bucket: undefined, waiting: [] };
      this.#states.set(endpoint.id, s);
    }
    const rate = endpoint.rateLimitPerSecond;
    if (rate === undefined) s.bucket = undefined;
    else s.bucket ??= new TokenBucket(rate, nowMs);
    return s;
  }

  #throttle(estimateMs: number): number {
    const jittered = estimateMs * (0.5 + this.#random());
    return Math.round(Math.min(THROTTLE_DELAY_MS.max, Math.max(THROTTLE_DELAY_MS.min, jittered)));
  }

  /** Asks to send one request to `endpoint` now. */
  admit(endpoint: EndpointConfig): Admission {
    const nowMs = this.#now();
    const s = this.#state(endpoint, nowMs);
    if (s.inFlight >= endpoint.maxConcurrency) {
      // A slot frees when one of the requests in flight ends: about one
      // request's latency, spread by the slots.
      return { kind: 'wait', delayMs: this.#throttle(s.latencyMs), why: 'concurrency' };
    }
    const circuit = s.circuit.admit(nowMs, this.#throttle(Math.min(endpoint.timeoutMs, THROTTLE_DELAY_MS.max)));
    if (circuit.kind === 'wait') {
      const jitter = this.#random() * Math.min(5_000, Math.max(THROTTLE_DELAY_MS.min, endpoint.circuit.openMs * 0.2));
      return { kind: 'wait', delayMs: Math.round(circuit.delayMs + jitter), why: 'circuit' };
    }
    if (s.bucket !== undefined && endpoint.rateLimitPerSecond !== undefined) {
      const untilToken = s.bucket.take(nowMs, endpoint.rateLimitPerSecond);
      if (untilToken > 0) {
        if (circuit.probe) s.circuit.cancelProbe();
        return { kind: 'wait', delayMs: this.#throttle(untilToken), why: 'rate' };
      }
    }
    s.inFlight++;
    let settled = false;
    return {
      kind: 'send',
      pass: {
        done: (verdict, latencyMs) => {
          if (settled) return;
          settled = true;
          s.inFlight--;
          s.waiting.shift()?.();
          s.latencyMs = s.latencyMs * 0.8 + latencyMs * 0.2;
          if (verdict === 'success') s.circuit.onSuccess();
          else if (verdict === 'failure') s.circuit.onFailure(this.#now(), endpoint.circuit);
          else s.circuit.cancelProbe();
        },
      },
    };
  }

  /**
   * Like {@link admit}, but a task refused only because the endpoint's
   * concurrency is full may wait in memory for a slot: while fewer than
   * `LOCAL_QUEUE_FACTOR × maxConcurrency` tasks wait for it, and at most
   * `min(MAX_LOCAL_WAIT_MS, 4 × its recent latency)`. A fast endpoint then
   * absorbs a burst without round trips through JetStream (naks under load
   * cost CPU and snowballed in bench/e2e), while a slow or blackholed one
   * still holds only a bounded number of the worker's slots; everything past
   * that is nak'ed with a delay as before.
   */
  async admitWaiting(endpoint: EndpointConfig): Promise<Admission> {
    for (let round = 0; round < 4; round++) {
      const admission = this.admit(endpoint);
      if (admission.kind !== 'wait' || admission.why !== 'concurrency') return admission;
      const s = this.#state(endpoint, this.#now());
      if (s.waiting.length >= endpoint.maxConcurrency * LOCAL_QUEUE_FACTOR) return admission;
      const maxWaitMs = Math.min(MAX_LOCAL_WAIT_MS, Math.max(20, 4 * s.latencyMs));
      const woken = await new Promise<boolean>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          const i = s.waiting.indexOf(wake);
          if (i !== -1) s.waiting.splice(i, 1);
          resolve(false);
        }, maxWaitMs);
        s.waiting.push(wake);
      });
      if (!woken) return admission;
    }
    return this.admit(endpoint);
  }

  /** Each endpoint's circuit state now (for metrics). */
  *circuitStates(): IterableIterator<[string, ReturnType<CircuitBreaker['state']>]> {
    const nowMs = this.#now();
    for (const [id, s] of this.#states) yield [id, s.circuit.state(nowMs)];
  }

  /** Requests in flight to an endpoint (for tests and metrics). */
  inFlight(endpointId: string): number {
    return this.#states.get(endpointId)?.inFlight ?? 0;
  }

  /** The circuit state of an endpoint (closed when never seen). */
  circuitState(endpointId: string): 'closed' | 'open' | 'half-open' {
    return this.#states.get(endpointId)?.circuit.state(this.#now()) ?? 'closed';
  }
}
