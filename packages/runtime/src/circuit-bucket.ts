import { CIRCUIT_REPORT_TTL_MS, type CircuitReport, decodeCircuitReport } from '@hookstream/models';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type BucketOptions, bucketKeys, openBucket } from './config-cache.ts';

// The `hs_circuits` bucket's I/O; the report and its codec are a record model
// (@hookstream/models).

/** Opens (creating when missing) the circuits bucket with its TTL. */
export function openCircuitBucket(nc: NatsConnection, name: string, options: Omit<BucketOptions, 'ttlMs' | 'history'>): Promise<KV> {
  return openBucket(nc, name, { ...options, history: 1, ttlMs: CIRCUIT_REPORT_TTL_MS });
}

/** Every live report in the bucket (older than the TTL ones are skipped too). */
export async function readCircuitReports(kv: KV, nowMs: number): Promise<CircuitReport[]> {
  const reports: CircuitReport[] = [];
  for (const key of await bucketKeys(kv)) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    const report = decodeCircuitReport(entry.value);
    if (report !== undefined && nowMs - report.reportedAtMs <= CIRCUIT_REPORT_TTL_MS) reports.push(report);
  }
  return reports;
}
