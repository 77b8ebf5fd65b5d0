/** Options for {@link progress}. */
export interface ProgressOptions {
  /** Where the line is drawn (stderr). */
  readonly out: { write(text: string): unknown };
  /** False (not a terminal): nothing is drawn. */
  readonly enabled: boolean;
  /** How often the elapsed time is redrawn; 1 s by default. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

/**
 * Resolves (or rejects) as `work` does. Meanwhile, when enabled, draws
 * `hs: {label}… {n}s` on one line, redrawn every interval, and erases it
 * when `work` settles, so stdout stays the command's answer alone. The
 * replay RPCs answer once at the end, so the elapsed time is the progress
 * there is to show.
 */
export async function progress<T>(label: string, work: Promise<T>, options: ProgressOptions): Promise<T> {
  if (!options.enabled) return work;
  const now = options.now ?? Date.now;
  const started = now();
  const draw = () => options.out.write(`\r\x1b[2Khs: ${label}… ${Math.floor((now() - started) / 1000)}s`);
  draw();
  const timer = setInterval(draw, options.intervalMs ?? 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    options.out.write('\r\x1b[2K');
  }
}
