// Builds the console bundle: `node packages/console/build.ts [--no-minify] [--out DIR]`.
import { buildConsole, CONSOLE_DIST_DIR, consoleBundleSizes } from './src/index.ts';

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
