/**
 * Circuit reports: each deliver replica keeps its circuit breakers in memory
 * and writes the ones that are not closed to the `hs_circuits` bucket, key
 * `{endpoint}.{replica}`, every few seconds. Entries expire after
 * {@link CIRCUIT_REPORT_TTL_MS}, so a replica that died leaves no stale
 * "open" behind; a circuit that closes is deleted at the next report.
 */
export interface CircuitReport {
  readonly endpoint: string;
  /** The deliver replica: host name and process id. */
  readonly replica: string;
  readonly state: 'open' | 'half-open' | 'closed';
  readonly reportedAtMs: number;
}

/** How long a report lives without being written again. */
export const CIRCUIT_REPORT_TTL_MS = 60_000;

/** Encodes a report as stored. Pure. */
export function encodeCircuitReport(report: CircuitReport): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(report));
}

/** Decodes a stored report; undefined for anything malformed. Pure. */
export function decodeCircuitReport(value: Uint8Array): CircuitReport | undefined {
  try {
    const raw = JSON.parse(new TextDecoder().decode(value)) as Partial<CircuitReport> | null;
    if (raw === null || typeof raw !== 'object') return undefined;
    const { endpoint, replica, state, reportedAtMs } = raw;
    if (typeof endpoint !== 'string' || typeof replica !== 'string' || typeof reportedAtMs !== 'number') return undefined;
    if (state !== 'open' && state !== 'half-open' && state !== 'closed') return undefined;
    return { endpoint, replica, state, reportedAtMs };
  } catch {
    return undefined;
  }
}
