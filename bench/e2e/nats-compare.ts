// What the broker's configuration costs the pipeline, measured in one run:
// bench/e2e/run.ts's steps phase (offered load stepped up to saturation) on
//   single-always   one nats-server, R1, sync_interval: always (the local stack)
//   single-2m       one nats-server, R1, sync_interval: 2m (nats-server's default)
//   cluster-always  a 3-node cluster, R3 streams and buckets, sync_interval: always (production)
// one after the other on the same machine, then the ratios. Writes
// bench/e2e/results/nats-{config}.json (each run's full results) and
// bench/e2e/results/nats.json (the summary). BENCH_NATS_CONFIGS picks a
// subset; every other BENCH_* knob of run.ts passes through.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Step {
  offered: number;
  achieved: number;
  e2eP50: number;
  e2eP99: number;
  undeliveredAfterDrain: number;
  errors: number;
  shed: number;
  duplicates: number;
  cpuPercent: Record<string, number>;
}
interface RunResult {
  nats: { version: string; nodes: number; replicas: number; syncInterval: string };
  steps: Step[];
  saturation: { offered: number; reason: string } | null;
}

const CONFIGS: Record<string, { nodes: number; sync: string }> = {
  'single-always': { nodes: 1, sync: 'always' },
  'single-2m': { nodes: 1, sync: '2m' },
  'cluster-always': { nodes: 3, sync: 'always' },
};
const here = dirname(new URL(import.meta.url).pathname);
const chosen = (process.env.BENCH_NATS_CONFIGS ?? Object.keys(CONFIGS).join(',')).split(',');
for (const c of chosen) if (!(c in CONFIGS)) throw new Error(`BENCH_NATS_CONFIGS: unknown ${c} (known: ${Object.keys(CONFIGS)})`);

/** Sustained: at least 90% of the offered rate delivered, nothing lost, failed, shed or doubled (run.ts's rule). */
const sustained = (s: Step): boolean =>
  s.achieved >= 0.9 * s.offered && s.undeliveredAfterDrain === 0 && s.errors === 0 && s.shed === 0 && s.duplicates === 0;

const runs: Record<string, RunResult> = {};
for (const name of chosen) {
  const config = CONFIGS[name] as { nodes: number; sync: string };
  const out = join(here, 'results', `nats-${name}.json`);
  console.log(`\n== ${name}: ${config.nodes} node(s), sync_interval ${config.sync}`);
  const r = spawnSync(process.execPath, [join(here, 'run.ts')], {
    stdio: 'inherit',
    env: {
      ...process.env,
      BENCH_PHASES: 'steps',
      BENCH_NATS_NODES: String(config.nodes),
      BENCH_NATS_SYNC: config.sync,
      BENCH_OUT: out,
    },
  });
  if (r.status !== 0) throw new Error(`${name}: run.ts exited with ${r.status ?? r.signal}`);
  runs[name] = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
}

const capacity = (r: RunResult): number => Math.max(0, ...r.steps.filter(sustained).map((s) => s.offered));
// The latency comparison uses the highest offered rate every configuration sustained.
const common = Math.min(...Object.values(runs).map(capacity));
const at = (r: RunResult, rate: number): Step | undefined => r.steps.find((s) => s.offered === rate);
const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a !== undefined && b !== undefined && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;

const summary = {
  at: new Date().toISOString(),
  node: process.version,
  natsVersion: Object.values(runs)[0]?.nats.version ?? null,
  commonRatePerS: common,
  configs: Object.fromEntries(
    Object.entries(runs).map(([name, r]) => [
      name,
      {
        nodes: r.nats.nodes,
        replicas: r.nats.replicas,
        syncInterval: r.nats.syncInterval,
        capacityPerS: capacity(r),
        saturation: r.saturation,
        p50AtCommonMs: at(r, common)?.e2eP50 ?? null,
        p99AtCommonMs: at(r, common)?.e2eP99 ?? null,
        cpuPercentAtCommon: at(r, common)?.cpuPercent ?? null,
      },
    ]),
  ),
  ratios: {
    // < 1: fsync on every write costs capacity / adds latency.
    syncAlwaysOver2mCapacity:
      runs['single-always'] && runs['single-2m'] ? ratio(capacity(runs['single-always']), capacity(runs['single-2m'])) : null,
    syncAlwaysOver2mP99:
      runs['single-always'] && runs['single-2m']
        ? ratio(at(runs['single-always'], common)?.e2eP99, at(runs['single-2m'], common)?.e2eP99)
        : null,
    clusterOverSingleCapacity:
      runs['cluster-always'] && runs['single-always'] ? ratio(capacity(runs['cluster-always']), capacity(runs['single-always'])) : null,
    clusterOverSingleP99:
      runs['cluster-always'] && runs['single-always']
        ? ratio(at(runs['cluster-always'], common)?.e2eP99, at(runs['single-always'], common)?.e2eP99)
        : null,
  },
};
writeFileSync(join(here, 'results', 'nats.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`\n${JSON.stringify(summary, null, 2)}\nwrote bench/e2e/results/nats.json`);
