// CPU per event, three ways in one run (`make bench-efficiency`):
//
// 1. floor: bench/floor/gateway.ts (202 after the PubAck, one consumer that
//    POSTs and acks) in place of the services;
// 2. before: the services of BENCH_BEFORE_REF (default: the commit before
//    the CPU work of issue 15), checked out under .bench/before with its own
//    `npm ci`;
// 3. after, services: this checkout, one process per stage (the chart's
//    default layout);
// 4. after, combined: this checkout, the six stages in one process
//    (services/pipeline, the small-install layout). This run is the run of
//    record: it writes bench/e2e/results/latest.json (steps, overload, cpu,
//    half), and the `efficiency` object's headline figures are its.
//
// Each run: the steps phase (capacity: the peak sustained rate) and the cpu
// phase (BENCH_CPU_RATE events/s, default 150, below every target's
// saturation: CPU ms per delivered event per process). Then latest.json gets
// an `efficiency` object: cpu_ms_per_event, floor_cpu_ms_per_event,
// before_cpu_ms_per_event (the gateway's processes: nats-server and the
// services, not the load generator), capacity_per_s, floor_capacity_per_s,
// before_capacity_per_s, capacity_over_floor, p99 at half capacity, and the
// per-process figures. Other BENCH_* knobs pass through to every run;
// BENCH_EFFICIENCY_ONLY=floor,before,services,after picks parts (the others
// are read from their last results), BENCH_EFFICIENCY_TAG=x writes
// efficiency-*-x.json and leaves latest.json alone (a run with a burner).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const results = join(repo, 'bench/e2e/results');
// The commit before the CPU work: "today's main" of issue 15.
const BEFORE_REF = process.env.BENCH_BEFORE_REF ?? 'de6d4d4';
const beforeDir = join(repo, '.bench/before');
const CPU_RATE = process.env.BENCH_CPU_RATE ?? '150';
const RATES = process.env.BENCH_RATES ?? '100,150,200,300,400,500,600,800,1000,1250,1500,2000,2500,3000';
const only = (process.env.BENCH_EFFICIENCY_ONLY ?? 'floor,before,services,after').split(',');

function git(args: string[], cwd = repo): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** A checkout of BEFORE_REF under .bench/before with its own node_modules (kept between runs). */
function beforeCheckout(): string {
  const sha = git(['rev-parse', `${BEFORE_REF}^{commit}`]);
  if (!existsSync(join(beforeDir, '.git'))) {
    mkdirSync(dirname(beforeDir), { recursive: true });
    git(['worktree', 'add', '--force', '--detach', beforeDir, sha]);
  } else if (git(['rev-parse', 'HEAD'], beforeDir) !== sha) {
    git(['checkout', '--detach', sha], beforeDir);
  }
  const stamp = join(beforeDir, 'node_modules/.hookstream-before');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== sha) {
    console.log(`efficiency: npm ci in ${beforeDir} (${sha.slice(0, 10)})`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: beforeDir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm ci in ${beforeDir} failed`);
    writeFileSync(stamp, sha);
  }
  return sha;
}

interface RunOut {
  maxSustainedOffered: number;
  cpu: { cpuMsPerEvent: Record<string, number>; delivered: number; e2e: { p99: number }; ledger: Record<string, number> } | null;
  half: { e2eP50: number; e2eP99: number; offered: number; achieved: number } | { error: string } | null;
}

function run(label: string, env: Record<string, string>, out: string): RunOut {
  console.log(`\n==== efficiency: ${label}`);
  const r = spawnSync(process.execPath, [join(repo, 'bench/e2e/run.ts')], {
    cwd: repo,
    stdio: 'inherit',
    env: { ...process.env, BENCH_RATES: RATES, BENCH_CPU_RATE: CPU_RATE, ...env, BENCH_OUT: out },
  });
  if (r.status !== 0) throw new Error(`${label}: bench/e2e/run.ts exited ${r.status}`);
  return JSON.parse(readFileSync(out, 'utf8')) as RunOut;
}

const gatewayMs = (o: RunOut | undefined): number | null => o?.cpu?.cpuMsPerEvent.gateway ?? null;
const r3 = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : Math.round(v * 1000) / 1000);

// BENCH_EFFICIENCY_TAG=burner (say): every file gets the tag, and the run of record is left alone.
const TAG = process.env.BENCH_EFFICIENCY_TAG ?? '';
const file = (part: string) => join(results, `efficiency-${part}${TAG ? `-${TAG}` : ''}.json`);
const floorOut = file('floor');
const beforeOut = file('before');
const servicesOut = file('services');
const afterOut = TAG ? file('after') : join(results, 'latest.json');
const read = (f: string): RunOut | undefined => (existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as RunOut) : undefined);

if (only.includes('floor')) run('floor', { BENCH_TARGET: 'floor', BENCH_PHASES: 'steps,cpu' }, floorOut);
let beforeSha = '';
if (only.includes('before')) {
  beforeSha = beforeCheckout();
  run(`before (${beforeSha.slice(0, 10)})`, { BENCH_ROOT: beforeDir, BENCH_PHASES: 'steps,cpu' }, beforeOut);
}
if (only.includes('services')) run('after, one process per stage', { BENCH_LAYOUT: 'services', BENCH_PHASES: 'steps,cpu' }, servicesOut);
if (only.includes('after'))
  run('after, combined (run of record)', { BENCH_LAYOUT: 'combined', BENCH_PHASES: 'steps,overload,cpu,half' }, afterOut);

const floor = read(floorOut);
const before = read(beforeOut);
const services = read(servicesOut);
const after = read(afterOut) as (RunOut & Record<string, unknown>) | undefined;
if (after === undefined) throw new Error(`${afterOut} missing: run the "after" part`);
const cpu = gatewayMs(after);
const floorCpu = gatewayMs(floor);
const beforeCpu = gatewayMs(before);
const capacity = after.maxSustainedOffered;
const floorCapacity = floor?.maxSustainedOffered ?? null;
const half = after.half !== null && !('error' in after.half) ? after.half : undefined;
after.efficiency = {
  at: new Date().toISOString(),
  commit: git(['rev-parse', 'HEAD']),
  before_commit: beforeSha || (before !== undefined ? BEFORE_REF : null),
  cpu_rate_per_s: Number(CPU_RATE),
  layout: 'combined (services/pipeline: the six stages in one process)',
  cpu_ms_per_event: cpu,
  services_layout_cpu_ms_per_event: gatewayMs(services),
  services_layout_capacity_per_s: services?.maxSustainedOffered ?? null,
  floor_cpu_ms_per_event: floorCpu,
  before_cpu_ms_per_event: beforeCpu,
  cpu_over_before: cpu !== null && beforeCpu !== null ? r3(cpu / beforeCpu) : null,
  cpu_over_floor: cpu !== null && floorCpu !== null ? r3(cpu / floorCpu) : null,
  capacity_per_s: capacity,
  floor_capacity_per_s: floorCapacity,
  before_capacity_per_s: before?.maxSustainedOffered ?? null,
  capacity_over_floor: floorCapacity ? r3(capacity / floorCapacity) : null,
  half_capacity_rate_per_s: half?.offered ?? null,
  half_capacity_p99_ms: half?.e2eP99 ?? null,
  per_process_ms: {
    after: after.cpu?.cpuMsPerEvent ?? null,
    after_services_layout: services?.cpu?.cpuMsPerEvent ?? null,
    before: before?.cpu?.cpuMsPerEvent ?? null,
    floor: floor?.cpu?.cpuMsPerEvent ?? null,
  },
  targets: {
    half_the_cpu: cpu !== null && beforeCpu !== null && cpu <= 0.5 * beforeCpu,
    capacity_over_floor_at_least_half: floorCapacity !== null && capacity / floorCapacity >= 0.5,
    p99_at_half_capacity_under_50ms: half !== undefined && half.e2eP99 <= 50,
  },
};
writeFileSync(afterOut, `${JSON.stringify(after, null, 2)}\n`);
console.log(`\nefficiency: ${JSON.stringify(after.efficiency, null, 2)}`);
