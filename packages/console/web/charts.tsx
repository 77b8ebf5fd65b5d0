// Hand-written SVG charts of StatsSeries points: latency percentiles as
// lines, attempts by outcome class as stacked bars.
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { StatsPoint } from './api.ts';
import { linearScale, linePath, maxOf, niceTicks, presentClasses, stackPoint, timeTicks } from './chart-math.ts';
import { formatClock, formatCount, formatDuration, formatPercent } from './format.ts';

const DEFAULT_WIDTH = 640;
const HEIGHT = 220;

/** The rendered width of an element (so the SVG draws in CSS pixels and its text stays legible on phones). */
function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(DEFAULT_WIDTH);
  useEffect(() => {
    const el = ref.current;
    if (el === null || typeof ResizeObserver === 'undefined') return;
    const update = (): void => {
      const w = Math.round(el.clientWidth);
      if (w > 0) setWidth(Math.max(240, w));
    };
    update();
    const observer = new ResizeObserver(update);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}
const M = { top: 12, right: 12, bottom: 26, left: 52 };

export const EMPTY_TEXT = 'No delivery attempts in this window';

export interface ChartProps {
  readonly points: readonly StatsPoint[];
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly stepSeconds: number;
  /** "last hour" */
  readonly windowLabel: string;
}

const LINES = [
  { key: 'p50', label: 'p50', color: '#0969da', dash: '', pick: (p: StatsPoint) => p.latencyP50Ms },
  { key: 'p95', label: 'p95', color: '#bc4c00', dash: '6 3', pick: (p: StatsPoint) => p.latencyP95Ms },
  { key: 'p99', label: 'p99', color: '#a40e26', dash: '2 3', pick: (p: StatsPoint) => p.latencyP99Ms },
] as const;

function Axes({
  yTicks,
  y,
  xTicks,
  x,
  yFormat,
  width,
}: {
  width: number;
  yTicks: number[];
  y: (v: number) => number;
  xTicks: number[];
  x: (t: number) => number;
  yFormat: (v: number) => string;
}) {
  return (
    <g class="axes">
      {yTicks.map((v) => (
        <g key={`y${v}`}>
          <line class="grid" x1={M.left} x2={width - M.right} y1={y(v)} y2={y(v)} />
          <text class="tick" x={M.left - 6} y={y(v)} text-anchor="end" dominant-baseline="middle">
            {yFormat(v)}
          </text>
        </g>
      ))}
      {xTicks.map((t) => (
        <text key={`x${t}`} class="tick" x={x(t)} y={HEIGHT - 8} text-anchor="middle">
          {formatClock(t)}
        </text>
      ))}
      <line class="axis" x1={M.left} x2={width - M.right} y1={HEIGHT - M.bottom} y2={HEIGHT - M.bottom} />
    </g>
  );
}

function msTick(v: number): string {
  return v >= 1000 ? `${v / 1000} s` : `${v} ms`;
}

export function LatencyChart({ points, sinceMs, untilMs, stepSeconds, windowLabel }: ChartProps) {
  const [ref, width] = useWidth<HTMLElement>();
  if (points.length === 0) {
    return <p class="chart-empty">{EMPTY_TEXT}</p>;
  }
  const stepMs = Math.max(60, stepSeconds) * 1000;
  const yMax = maxOf(points, (p) => Math.max(p.latencyP50Ms ?? 0, p.latencyP95Ms ?? 0, p.latencyP99Ms ?? 0));
  const yTicks = niceTicks(yMax, 4);
  const top = yTicks[yTicks.length - 1] ?? 1;
  const y = linearScale(0, top, HEIGHT - M.bottom, M.top);
  const x = linearScale(sinceMs, untilMs, M.left, width - M.right);
  // Points mark the middle of their step.
  const mid = (p: StatsPoint): number => (p.atMs ?? 0) + stepMs / 2;
  const p95Max = maxOf(points, (p) => p.latencyP95Ms);
  const label = `Latency percentiles, ${windowLabel}: p95 max ${formatDuration(p95Max)}, p99 max ${formatDuration(maxOf(points, (p) => p.latencyP99Ms))}`;
  return (
    <figure class="chart" ref={ref}>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} width={width} height={HEIGHT} role="img" aria-label={label}>
        <Axes
          width={width}
          yTicks={yTicks}
          y={y}
          xTicks={timeTicks(sinceMs, untilMs, Math.max(2, Math.floor(width / 90)))}
          x={x}
          yFormat={msTick}
        />
        {LINES.map((line) => {
          const coords = points.map((p) => [p.atMs ?? 0, x(mid(p)), y(line.pick(p) ?? 0)] as const);
          return (
            <g key={line.key}>
              <path d={linePath(coords, stepMs * 1.5)} fill="none" stroke={line.color} stroke-width="2" stroke-dasharray={line.dash} />
              {points.length <= 90 &&
                coords.map(([t, cx, cy]) => <circle key={t} cx={cx} cy={cy} r={points.length === 1 ? 3 : 1.8} fill={line.color} />)}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {LINES.map((line) => (
            <li key={line.key}>
              <svg class="swatch-line" viewBox="0 0 24 8" aria-hidden="true">
                <line x1="0" x2="24" y1="4" y2="4" stroke={line.color} stroke-width="2.5" stroke-dasharray={line.dash} />
              </svg>
              {line.label} ({formatDuration(maxOf(points, line.pick))} max)
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

export function OutcomesChart({ points, sinceMs, untilMs, stepSeconds, windowLabel }: ChartProps) {
  const [ref, width] = useWidth<HTMLElement>();
  if (points.length === 0) {
    return <p class="chart-empty">{EMPTY_TEXT}</p>;
  }
  const stepMs = Math.max(60, stepSeconds) * 1000;
  const stacks = points.map((p) => ({ at: p.atMs ?? 0, segments: stackPoint(p) }));
  const yMax = Math.max(0, ...stacks.map((s) => s.segments.at(-1)?.y1 ?? 0));
  const yTicks = niceTicks(yMax, 4, true);
  const top = yTicks[yTicks.length - 1] ?? 1;
  const y = linearScale(0, top, HEIGHT - M.bottom, M.top);
  const x = linearScale(sinceMs, untilMs, M.left, width - M.right);
  const classes = presentClasses(points);
  const colorOf = new Map(classes.map((c) => [c.key, c.color]));
  const totals = new Map<string, number>();
  for (const s of stacks) for (const seg of s.segments) totals.set(seg.key, (totals.get(seg.key) ?? 0) + (seg.y1 - seg.y0));
  const attempts = points.reduce((sum, p) => sum + (p.attempts ?? 0), 0);
  const successes = totals.get('success') ?? 0;
  const failures = classes
    .filter((c) => c.key !== 'success')
    .map((c) => `${formatCount(totals.get(c.key) ?? 0)} ${c.label}`)
    .join(', ');
  const label =
    `Attempts by outcome, ${windowLabel}: ${formatCount(attempts)} attempts, ` +
    `${formatPercent(attempts === 0 ? 0 : successes / attempts)} success${failures === '' ? '' : `; ${failures}`}`;
  const barWidth = Math.max(1, x(sinceMs + stepMs) - x(sinceMs) - 1.5);
  return (
    <figure class="chart" ref={ref}>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} width={width} height={HEIGHT} role="img" aria-label={label}>
        <Axes
          width={width}
          yTicks={yTicks}
          y={y}
          xTicks={timeTicks(sinceMs, untilMs, Math.max(2, Math.floor(width / 90)))}
          x={x}
          yFormat={(v) => formatCount(v)}
        />
        {stacks.map((s) => (
          <g key={s.at}>
            {s.segments.map((seg) => (
              <rect
                key={seg.key}
                x={x(s.at) + 0.75}
                width={barWidth}
                y={y(seg.y1)}
                height={Math.max(0, y(seg.y0) - y(seg.y1))}
                fill={colorOf.get(seg.key) ?? '#57606a'}
              />
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {classes.map((c) => (
            <li key={c.key}>
              <span class="swatch" style={{ backgroundColor: c.color }} aria-hidden="true" />
              {c.label} ({formatCount(totals.get(c.key) ?? 0)})
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
