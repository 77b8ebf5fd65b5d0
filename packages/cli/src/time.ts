const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A time option as epoch ms: an ISO 8601 time (`2026-05-01T12:00:00Z`,
 * `2026-05-01`) or a duration ago (`90s`, `15m`, `2h`, `7d`, `1w`).
 * Returns undefined for anything else. Pure.
 */
export function parseTime(value: string, nowMs: number): number | undefined {
  const relative = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(value.trim());
  if (relative !== null) return Math.round(nowMs - Number(relative[1]) * (UNITS[relative[2] as string] ?? 0));
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
