// The hookstream web console: a Preact single-page app (web/) bundled with
// esbuild into dist/. The control service serves CONSOLE_DIST_DIR next to its
// JSON API (`/api/session`, `/api/rpc/{Method}`); docs/console-ui.md describes
// the pages.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Absolute path of packages/console/dist: index.html, app.js, app.css. */
export const CONSOLE_DIST_DIR: string = fileURLToPath(new URL('../dist/', import.meta.url));

/** Absolute path of the sources the bundle is built from. */
const CONSOLE_WEB_DIR: string = fileURLToPath(new URL('../web/', import.meta.url));

/** Where and how {@link buildConsole} writes the bundle. */
export interface BuildConsoleOptions {
  /** Where to write index.html, app.js, app.css (default CONSOLE_DIST_DIR). */
  readonly outDir?: string;
  /** Minify app.js (default true). */
  readonly minify?: boolean;
}

/** Bundles web/main.tsx to app.js (plus its source map) and copies index.html and app.css. */
export async function buildConsole(options: BuildConsoleOptions = {}): Promise<void> {
  const outDir = options.outDir ?? CONSOLE_DIST_DIR;
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(CONSOLE_WEB_DIR, 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: 'linked',
    minify: options.minify ?? true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(CONSOLE_WEB_DIR, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(CONSOLE_WEB_DIR, 'app.css'), join(outDir, 'app.css'));
}
