// The time windows a chart or a figures card can show.

/** The windows offered, shortest first. */
export const WINDOWS = [
  { ms: 15 * 60_000, label: 'last 15 min' },
  { ms: 3_600_000, label: 'last hour' },
  { ms: 6 * 3_600_000, label: 'last 6 hours' },
  { ms: 24 * 3_600_000, label: 'last 24 hours' },
] as const;

/** The label of a window length ("last hour"); a length not offered reads in minutes. */
export function windowLabel(ms: number): string {
  return WINDOWS.find((w) => w.ms === ms)?.label ?? `last ${Math.round(ms / 60_000)} min`;
}

/** A labelled select of {@link WINDOWS}; `id` ties the label to it. */
export function WindowSelect({ id, value, onChange }: { id: string; value: number; onChange: (ms: number) => void }) {
  return (
    <span class="window-select">
      <label for={id}>Time range</label>{' '}
      <select id={id} value={String(value)} onChange={(e) => onChange(Number(e.currentTarget.value))}>
        {WINDOWS.map((w) => (
          <option key={w.ms} value={String(w.ms)}>
            {w.label}
          </option>
        ))}
      </select>
    </span>
  );
}
