// Renders bench/e2e/latency.png from a results file's step table:
// `node bench/e2e/chart-from.ts bench/e2e/results/latest.json` (run.ts draws
// it itself only when it writes the default results file).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderLineChart } from './chart.ts';

interface Step {
  readonly offered: number;
  readonly e2eP50: number;
  readonly e2eP95: number;
  readonly e2eP99: number;
}
const file = process.argv[2];
if (file === undefined) throw new Error('usage: node bench/e2e/chart-from.ts <results.json>');
const run = JSON.parse(readFileSync(file, 'utf8')) as { steps: Step[]; saturation?: { offered: number } | null };
const steps = run.steps;
const out = fileURLToPath(new URL('./latency.png', import.meta.url));
writeFileSync(
  out,
  renderLineChart({
    title: 'HOOKSTREAM END-TO-END LATENCY VS OFFERED LOAD (2 CORES)',
    xLabel: 'OFFERED LOAD (EVENTS/S)',
    yLabel: 'LATENCY (MS, LOG SCALE)',
    xTicks: steps.map((s) => s.offered),
    series: [
      { label: 'P50', color: [40, 110, 200], points: steps.map((s) => [s.offered, Math.max(s.e2eP50, 1)] as const) },
      { label: 'P95', color: [230, 150, 30], points: steps.map((s) => [s.offered, Math.max(s.e2eP95, 1)] as const) },
      { label: 'P99', color: [200, 40, 40], points: steps.map((s) => [s.offered, Math.max(s.e2eP99, 1)] as const) },
    ],
    hline: { y: 100, label: 'P99 TARGET 100 MS' },
    ...(run.saturation ? { marker: { x: run.saturation.offered, label: 'SATURATED' } } : {}),
  }),
);
console.log(`wrote ${out} from ${file}`);
