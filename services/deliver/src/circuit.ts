import type { CircuitPolicy } from '@hookstream/models';

/** Where a circuit breaker stands. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** What {@link CircuitBreaker.admit} answers: send (maybe as the probe) or wait this long. */
export type CircuitAdmission = { readonly kind: 'send'; readonly probe: boolean } | { readonly kind: 'wait'; readonly delayMs: number };

/**
 * One endpoint's circuit breaker, in memory (each replica has its own).
 * Closed: everything is sent; `failureThreshold` consecutive retryable
 * failures open it. Open: nothing is sent for `openMs`. Then one probe is let
 * through (half-open) while the rest wait; its success closes the circuit,
 * its failure opens it again for `openMs`. An answer that is not a retryable
 * failure (a 2xx, a 4xx) counts as success: the endpoint is up. The clock is
 * injected; no timers.
 */
export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openUntil = 0;
  #probeInFlight = false;

  /** The state at `nowMs` (an open circuit past its time reads half-open). */
  state(nowMs: number): CircuitState {
    return this.#state === 'open' && nowMs >= this.#openUntil ? 'half-open' : this.#state;
  }

  /**
   * Asks to send one request at `nowMs`. Answers `send` (with `probe: true`
   * for the one half-open probe; the caller must then report its result, or
   * call {@link cancelProbe} when it does not send after all), or `wait`
   * with how long until the circuit may let a request through (at least
   * `probeWaitMs` while a probe is out).
   */
  admit(nowMs: number, probeWaitMs: number): CircuitAdmission {
    if (this.#state === 'closed') return { kind: 'send', probe: false };
    if (this.#state === 'open' && nowMs < this.#openUntil) return { kind: 'wait', delayMs: this.#openUntil - nowMs };
    if (this.#probeInFlight) return { kind: 'wait', delayMs: probeWaitMs };
    this.#state = 'half-open';
    this.#probeInFlight = true;
    return { kind: 'send', probe: true };
  }

  /** The admitted probe was not sent (throttled); another request may probe. */
  cancelProbe(): void {
    this.#probeInFlight = false;
  }

  /** The endpoint answered (2xx, or a failure that retrying will not fix): close. */
  onSuccess(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#probeInFlight = false;
  }

  /** A retryable failure at `nowMs`: count it; open at the threshold, or reopen after a failed probe. */
  onFailure(nowMs: number, policy: CircuitPolicy): void {
    if (this.#state === 'half-open' || this.#state === 'open') {
      // A failed probe, or a request admitted before the circuit opened.
      this.#state = 'open';
      this.#openUntil = Math.max(this.#openUntil, nowMs + policy.openMs);
      this.#probeInFlight = false;
      return;
    }
    this.#failures++;
    if (this.#failures >= policy.failureThreshold) {
      this.#state = 'open';
      this.#openUntil = nowMs + policy.openMs;
      this.#failures = 0;
    }
  }
}
