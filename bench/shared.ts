// Helpers shared by the stage benchmarks (dedup, validate): preload a
// subject, pin processes to cores, watch a durable consumer drain.
import { spawnSync } from 'node:child_process';
import { AckingPublisher, type NatsHandle } from '@hookstream/runtime';
import type { JetStreamManager } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';

/** Whether `taskset` (util-linux) is available to pin processes to cores. */
export const canPin = spawnSync('taskset', ['-V']).status === 0;

/** Pins a running process to one core; a no-op without taskset. */
export function pin(pid: number | undefined, core: number): void {
  if (canPin && pid !== undefined) spawnSync('taskset', ['-a', '-cp', String(core), String(pid)]);
}

/** Command prefix that starts a process on one core (empty without taskset). */
export function onCore(core: number): string[] {
  return canPin ? ['taskset', '-c', String(core)] : [];
}

/** Publishes `count` messages built by `make`, 1,000 in flight at a time. */
export async function preload(
  nats: NatsHandle,
  count: number,
  make: (i: number, h: MsgHdrs) => { subject: string; body: Uint8Array },
): Promise<void> {
  const publisher = new AckingPublisher(nats.nc, 30_000);
  for (let start = 0; start < count; start += 1000) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const h = headers();
      const { subject, body } = make(i, h);
      batch.push(publisher.publish(subject, body, h));
    }
    await Promise.all(batch);
  }
  publisher.close();
}

/**
 * Watches a durable consumer until nothing is pending or unacked and returns
 * the rate over the time it was busy: from the first poll that saw progress
 * to the poll that saw it drained.
 */
export async function drainRate(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  total: number,
  timeoutMs = 300_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let startedAt: number | undefined;
  let pendingAtStart = total;
  while (Date.now() < deadline) {
    const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
    if (info) {
      const left = info.num_pending + info.num_ack_pending;
      if (startedAt === undefined && left < total) {
        startedAt = performance.now();
        pendingAtStart = left;
      }
      if (startedAt !== undefined && left === 0) return pendingAtStart / ((performance.now() - startedAt) / 1000);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${durable} did not drain in time`);
}
