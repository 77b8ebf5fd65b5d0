import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/** A file to answer with, or why not. */
export type StaticAnswer =
  | { readonly kind: 'file'; readonly body: Buffer; readonly contentType: string; readonly etag: string }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-built' };

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file under `root` a URL path names, or undefined when the path may not
 * name one: `/` is index.html; `..`, dot files, backslashes, NUL and encoded
 * separators are refused. Pure.
 */
export function resolveStaticPath(root: string, urlPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (path === '/' || path === '') path = '/index.html';
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\\')) return undefined;
  const parts = path.slice(1).split('/');
  if (parts.some((p) => p === '' || p.startsWith('.'))) return undefined;
  const full = normalize(join(root, ...parts));
  const base = normalize(root.endsWith(sep) ? root : root + sep);
  return full.startsWith(base) ? full : undefined;
}

/** Reads the file a URL path names under `root` (the console's dist/). */
export async function readStatic(root: string, urlPath: string): Promise<StaticAnswer> {
  const exists = await stat(join(root, 'index.html')).then(
    () => true,
    () => false,
  );
  if (!exists) return { kind: 'not-built' };
  const file = resolveStaticPath(root, urlPath);
  if (file === undefined) return { kind: 'not-found' };
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) return { kind: 'not-found' };
  const body = await readFile(file);
  return {
    kind: 'file',
    body,
    contentType: TYPES[extname(file)] ?? 'application/octet-stream',
    etag: `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`,
  };
}
