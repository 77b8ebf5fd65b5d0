// Scales, ticks and stacking for the hand-written SVG charts (charts.tsx).
// Pure: no DOM, no JSX, so node --test covers it.
import type { StatsPoint } from './api.ts';

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps to r0. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  if (span === 0) return () => r0;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** 1, 2, 2.5 or 5 × 10^k, the smallest ≥ the rough step. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * power >= rough - 1e-12) return m * power;
  }
  return 10 * power;
}

/**
 * Ticks from 0 to a "nice" maximum ≥ `max`, about `count` intervals. Whole
 * numbers only when `integer` (attempt counts); max 0 gives [0, 1].
 */
export function niceTicks(max: number, count = 4, integer = false): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  let step = niceStep(max / count);
  if (integer) step = Math.max(1, Math.ceil(step));
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const MINUTE = 60_000;
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE);

/**
 * Time ticks inside [since, until]: multiples (in local time) of a step from
 * TIME_STEPS giving at most `maxTicks` ticks.
 */
export function timeTicks(since: number, until: number, maxTicks = 6): number[] {
  if (!(until > since)) return [];
  const span = until - since;
  const step = TIME_STEPS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / (1440 * MINUTE)) * 1440 * MINUTE;
  // Align on local wall-clock multiples: shift by the timezone offset.
  const offset = new Date(since).getTimezoneOffset() * MINUTE;
  const first = Math.ceil((since - offset) / step) * step + offset;
  const ticks: number[] = [];
  for (let t = first; t <= until; t += step) ticks.push(t);
  return ticks;
}

/** Outcome classes in stacking order (bottom first) with their colour and label. */
export interface OutcomeClass {
  readonly key: string;
  readonly label: string;
  readonly color: string;
}

export const OUTCOME_CLASSES: readonly OutcomeClass[] = [
  { key: 'success', label: 'Success', color: '#1a7f37' },
  { key: 'http_4xx', label: 'HTTP 4xx', color: '#b35900' },
  { key: 'rate_limited', label: 'Rate limited', color: '#8250df' },
  { key: 'http_5xx', label: 'HTTP 5xx', color: '#cf222e' },
  { key: 'timeout', label: 'Timeout', color: '#0550ae' },
  { key: 'network', label: 'DNS / connect / TLS', color: '#57606a' },
  { key: 'blocked', label: 'Blocked', color: '#1f2328' },
  { key: 'other', label: 'Other', color: '#9a6700' },
];

/** The class an outcome (as in DeliveryAttempt.outcome) is drawn in. */
export function outcomeClassOf(outcome: string): string {
  switch (outcome) {
    case 'success':
    case 'http_4xx':
    case 'rate_limited':
    case 'http_5xx':
    case 'timeout':
    case 'blocked':
      return outcome;
    case 'dns':
    case 'connect':
    case 'tls':
      return 'network';
    default:
      return 'other';
  }
}

/** Attempts per outcome class of one point; `attempts` minus the listed outcomes counts as other. */
export function classCounts(point: StatsPoint): Map<string, number> {
  const counts = new Map<string, number>();
  let listed = 0;
  for (const [outcome, n] of Object.entries(point.outcomes ?? {})) {
    const v = Number(n) || 0;
    if (v <= 0) continue;
    listed += v;
    const key = outcomeClassOf(outcome);
    counts.set(key, (counts.get(key) ?? 0) + v);
  }
  if (listed === 0 && (point.successes ?? 0) > 0) {
    // No outcome map: fall back to successes and the rest as other.
    counts.set('success', point.successes ?? 0);
    listed = point.successes ?? 0;
  }
  const rest = (point.attempts ?? 0) - listed;
  if (rest > 0) counts.set('other', (counts.get('other') ?? 0) + rest);
  return counts;
}

export interface StackSegment {
  readonly key: string;
  readonly y0: number;
  readonly y1: number;
}

/** Segments of one bar, bottom up, in OUTCOME_CLASSES order. */
export function stackPoint(point: StatsPoint): StackSegment[] {
  const counts = classCounts(point);
  const segments: StackSegment[] = [];
  let y = 0;
  for (const c of OUTCOME_CLASSES) {
    const n = counts.get(c.key) ?? 0;
    if (n <= 0) continue;
    segments.push({ key: c.key, y0: y, y1: y + n });
    y += n;
  }
  return segments;
}

/** The classes that occur in any point (for the legend), in stacking order. */
export function presentClasses(points: readonly StatsPoint[]): OutcomeClass[] {
  const seen = new Set<string>();
  for (const p of points) for (const key of classCounts(p).keys()) seen.add(key);
  return OUTCOME_CLASSES.filter((c) => seen.has(c.key));
}

/**
 * An SVG path through (x, y) pairs; a gap in time wider than `maxGap` (a step
 * without attempts) starts a new segment instead of bridging it.
 */
export function linePath(coords: readonly (readonly [number, number, number])[], maxGap: number): string {
  let d = '';
  let prevT: number | undefined;
  for (const [t, x, y] of coords) {
    const move = prevT === undefined || t - prevT > maxGap;
    d += `${move ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    prevT = t;
  }
  return d;
}

/** Largest value of a field over the points (0 when none). */
export function maxOf(points: readonly StatsPoint[], pick: (p: StatsPoint) => number | undefined): number {
  let max = 0;
  for (const p of points) max = Math.max(max, pick(p) ?? 0);
  return max;
}
