/**
 * What a handler decided about one message. Handlers return this and never
 * touch the message; {@link settle} in worker.ts turns it into ack, nak(delay)
 * or dead-letter + term.
 */
export type Outcome =
  /**
   * `holdMs`: keep the message unacknowledged (its consumer slot taken) this
   * much longer before the ack. Deliver uses it to pace an endpoint's rate
   * through the consumer's `max_ack_pending`, which holds across replicas.
   */
  | { readonly kind: 'ack'; readonly holdMs?: number }
  | { readonly kind: 'nak'; readonly delayMs: number }
  | { readonly kind: 'term'; readonly reason: string; readonly detail?: string };

/** The message was handled (or deliberately dropped after being recorded). */
export const ack = (): Outcome => ({ kind: 'ack' });
/** Deliver again after `delayMs` (a transient failure). */
export const nak = (delayMs: number): Outcome => ({ kind: 'nak', delayMs });
/** Never deliver again: the worker dead-letters it with `reason` first. */
export const term = (reason: string, detail?: string): Outcome =>
  detail === undefined ? { kind: 'term', reason } : { kind: 'term', reason, detail };
