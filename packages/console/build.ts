// Builds the console bundle: `node packages/console/build.ts [--no-minify] [--out DIR]`.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConsole, CONSOLE_DIST_DIR } from './src/index.ts';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 && args[outIndex + 1] !== undefined ? args[outIndex + 1] : CONSOLE_DIST_DIR;
const started = performance.now();
await buildConsole({ outDir, minify: !args.includes('--no-minify') });
const sizes = await consoleBundleSizes(outDir);
const total = Object.values(sizes).reduce((a, b) => a + b, 0);
const detail = Object.entries(sizes)
  .map(([name, size]) => `${name} ${(size / 1024).toFixed(1)} KiB`)
  .join(', ');
console.log(
  `console built in ${outDir} (${Math.round(performance.now() - started)} ms): ${detail}; total ${(total / 1024).toFixed(1)} KiB`,
);

/** Sizes in bytes of the files buildConsole writes. */
async function consoleBundleSizes(outDir: string = CONSOLE_DIST_DIR): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const name of ['index.html', 'app.js', 'app.css']) sizes[name] = (await stat(join(outDir, name))).size;
  return sizes;
}
