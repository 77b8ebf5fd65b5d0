import { randomFillSync } from 'node:crypto';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(16 * 256);
let poolOffset = pool.length;
let lastMs = -1;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then 12 bits that count up
 * within one millisecond (so ids from one process sort in creation order),
 * then 62 random bits. Random bytes come from a pooled CSPRNG buffer.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  if (now > lastMs) {
    lastMs = now;
    sequence = (b[6] ?? 0) & 0x07; // random start, room to count up
  } else {
    sequence++;
    if (sequence > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond.
      lastMs++;
      sequence = 0;
    }
  }
  const ms = lastMs;
  const hi = Math.floor(ms / 0x100000000);
  const lo = ms >>> 0;
  const h = (i: number): string => HEX[b[i] ?? 0] ?? '00';
  const x = (v: number): string => HEX[v & 0xff] ?? '00';
  return (
    x(hi >>> 8) +
    x(hi) +
    x(lo >>> 24) +
    x(lo >>> 16) +
    '-' +
    x(lo >>> 8) +
    x(lo) +
    '-' +
    x(0x70 | (sequence >>> 8)) +
    x(sequence) +
    '-' +
    x(0x80 | ((b[8] ?? 0) & 0x3f)) +
    h(9) +
    '-' +
    h(10) +
    h(11) +
    h(12) +
    h(13) +
    h(14) +
    h(15)
  );
}

/** Epoch milliseconds encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
