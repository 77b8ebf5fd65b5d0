import { SOURCE_ID } from '@hookstream/models';
import { invalid } from '../errors.ts';

// Checks on request fields several resources share; each throws
// INVALID_ARGUMENT naming the field.

/** An hour in ms: the default window of stats and event listings. */
export const HOUR_MS = 3_600_000;

/** `id` unless it is empty. Throws INVALID_ARGUMENT naming `field` when it is. Pure. */
export function requireId(id: string, field = 'id'): string {
  if (id === '') throw invalid(field, 'is required');
  return id;
}

/** A source or endpoint id from a request. Throws INVALID_ARGUMENT naming `field` unless it is one. Pure. */
export function recordId(id: string, field = 'id'): string {
  if (!SOURCE_ID.test(requireId(id, field))) throw invalid(field, 'must match [A-Za-z0-9_-]{1,64}');
  return id;
}

/** Checks an event time range (0: open). Throws INVALID_ARGUMENT when negative or reversed. Pure. */
export function timeRange(sinceMs: number, untilMs: number): void {
  if (sinceMs < 0) throw invalid('since_ms', 'must not be negative');
  if (untilMs < 0) throw invalid('until_ms', 'must not be negative');
  if (untilMs !== 0 && untilMs < sinceMs) throw invalid('until_ms', 'is before since_ms');
}

/** A stats window from a request: defaults to the hour before `nowMs`; INVALID_ARGUMENT when reversed. Pure. */
export function statsWindow(req: { sinceMs: number; untilMs: number }, nowMs: number): { sinceMs: number; untilMs: number } {
  const untilMs = req.untilMs > 0 ? req.untilMs : nowMs;
  const sinceMs = req.sinceMs > 0 ? req.sinceMs : untilMs - HOUR_MS;
  if (sinceMs > untilMs) throw invalid('since_ms', 'must not be after until_ms');
  return { sinceMs, untilMs };
}
