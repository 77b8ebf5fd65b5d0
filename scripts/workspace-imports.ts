// The import graph of the repository, read from the sources with oxc-parser
// (TypeScript 7 ships no JavaScript compiler API). Shared by the lint checks
// scripts/check-deps.ts and scripts/check-exports.ts, so both see the same
// workspaces, files and imports.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseSync } from 'oxc-parser';

/** One npm workspace (a package or a service) as its package.json declares it. */
export interface Workspace {
  /** Package name, e.g. `@hookstream/runtime`. */
  readonly name: string;
  /** Directory relative to the repository root, with `/` separators, e.g. `packages/runtime`. */
  readonly dir: string;
  /** True for workspaces under services/ (deployables that must not import each other). */
  readonly isService: boolean;
  /** Names in `dependencies`, `peerDependencies` and `optionalDependencies`: what may load at run time. */
  readonly runtimeDeps: ReadonlySet<string>;
  /** Names in `devDependencies`. */
  readonly devDeps: ReadonlySet<string>;
}

/** The root manifest and every workspace it lists. */
export interface Repo {
  /** Absolute path of the repository root. */
  readonly root: string;
  /** The root package.json's `dependencies` and `devDependencies` (the root is private: both are dev tooling). */
  readonly rootDeps: ReadonlySet<string>;
  /** Workspaces by name. */
  readonly workspaces: ReadonlyMap<string, Workspace>;
}

/** One import, re-export or dynamic import found in a file. */
export interface ImportRef {
  /** The module specifier as written. */
  readonly specifier: string;
  /** 1-based line of the specifier. */
  readonly line: number;
  /** Names taken from the module; `'*'` for a namespace import, `export *` or a dynamic import (everything may be used). */
  readonly names: readonly string[] | '*';
  /** True when every name is type-only (`import type`), so nothing loads at run time. */
  readonly typeOnly: boolean;
}

/** One exported name of a module. */
export interface ExportRef {
  /** The name other modules import (`default` for a default export). */
  readonly name: string;
  /** True for a type-only export (`export type`, `export interface`, `export { type A }`). */
  readonly isType: boolean;
  /** For `export { a } from './x.ts'`: the module it comes from and its name there. */
  readonly from?: { readonly specifier: string; readonly name: string };
}

/** A parsed source file. */
export interface SourceFile {
  /** Path relative to the repository root, `/` separators. */
  readonly path: string;
  readonly imports: readonly ImportRef[];
  readonly exports: readonly ExportRef[];
  /** `export * from '…'` specifiers. */
  readonly starExports: readonly string[];
}

const SOURCE_EXTENSIONS = /\.(?:ts|tsx|mts|cts|js|mjs|cjs|jsx)$/;

/** Reads the root package.json and each workspace directory its `workspaces` globs match (`dir/*` form). */
export function readRepo(root: string): Repo {
  const manifest = readJson(join(root, 'package.json'));
  const workspaces = new Map<string, Workspace>();
  for (const pattern of (manifest.workspaces as string[] | undefined) ?? []) {
    if (!pattern.endsWith('/*')) throw new Error(`workspace pattern ${pattern}: only "dir/*" patterns are supported`);
    const parent = pattern.slice(0, -2);
    const listing = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', `${parent}/*/package.json`], {
      cwd: root,
      encoding: 'utf8',
    });
    for (const manifestPath of listing.split('\n').filter(Boolean)) {
      if (manifestPath.split('/').length !== 3) continue;
      const pkg = readJson(join(root, manifestPath));
      const dir = dirname(manifestPath);
      workspaces.set(pkg.name as string, {
        name: pkg.name as string,
        dir,
        isService: dir.startsWith('services/'),
        runtimeDeps: new Set([...keys(pkg.dependencies), ...keys(pkg.peerDependencies), ...keys(pkg.optionalDependencies)]),
        devDeps: new Set(keys(pkg.devDependencies)),
      });
    }
  }
  return { root, rootDeps: new Set([...keys(manifest.dependencies), ...keys(manifest.devDependencies)]), workspaces };
}

/** Every tracked or new, not ignored, JavaScript/TypeScript file (git's view, so node_modules, dist and results are out). */
export function listSourceFiles(root: string): string[] {
  const listing = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  return listing
    .split('\n')
    .filter((path) => SOURCE_EXTENSIONS.test(path) && existsSync(join(root, path)))
    .sort();
}

/** The workspace that owns a file (its directory contains it), or undefined for root-level files (bench/, test/, scripts/). */
export function ownerOf(repo: Repo, path: string): Workspace | undefined {
  for (const workspace of repo.workspaces.values()) if (path.startsWith(`${workspace.dir}/`)) return workspace;
  return undefined;
}

/**
 * True for a workspace file that runs in production: everything under its src/.
 * Tests, build scripts and bundled browser sources (packages/console/web) are build-time.
 */
export function isRuntimeFile(workspace: Workspace, path: string): boolean {
  return path.startsWith(`${workspace.dir}/src/`) && !/\.test\.[cm]?tsx?$/.test(path);
}

/** The npm package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for relative, absolute and protocol specifiers. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    return undefined;
  }
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Resolves a relative specifier to a repository-relative path (no extension probing: the repo imports with `.ts`). */
export function resolveRelative(root: string, fromPath: string, specifier: string): string {
  return relative(root, resolve(root, dirname(fromPath), specifier))
    .split(sep)
    .join('/');
}

/** Parses one file's imports and exports; throws with the file name when it does not parse. */
export function parseFile(root: string, path: string): SourceFile {
  const text = readFileSync(join(root, path), 'utf8');
  const result = parseSync(path, text);
  if (result.errors.length > 0) throw new Error(`${path}: does not parse: ${result.errors[0]?.message}`);
  const lineAt = lineIndex(text);
  const imports: ImportRef[] = [];
  const exports: ExportRef[] = [];
  const starExports: string[] = [];
  for (const statement of result.module.staticImports) {
    const entries = statement.entries;
    const namespace = entries.some((entry) => entry.importName.kind === 'NamespaceObject');
    imports.push({
      specifier: statement.moduleRequest.value,
      line: lineAt(statement.moduleRequest.start),
      names: namespace
        ? '*'
        : entries.map((entry) => (entry.importName.kind === 'Default' ? 'default' : (entry.importName.name ?? 'default'))),
      // `import type { A }` and `import { type A }` both mark each entry; a bare `import 'x'` has no entries and loads x.
      typeOnly: entries.length > 0 && entries.every((entry) => entry.isType),
    });
  }
  for (const statement of result.module.staticExports) {
    for (const entry of statement.entries) {
      const specifier = entry.moduleRequest?.value;
      if (entry.exportName.kind === 'None') {
        // `export * from './x.ts'`
        if (specifier !== undefined) {
          starExports.push(specifier);
          imports.push({ specifier, line: lineAt(entry.start), names: '*', typeOnly: entry.isType });
        }
        continue;
      }
      const name = entry.exportName.kind === 'Default' ? 'default' : (entry.exportName.name ?? 'default');
      if (specifier === undefined) {
        exports.push({ name, isType: entry.isType });
        continue;
      }
      const imported = entry.importName.kind === 'Name' ? (entry.importName.name ?? name) : '*';
      exports.push({ name, isType: entry.isType, from: { specifier, name: imported } });
      imports.push({ specifier, line: lineAt(entry.start), names: imported === '*' ? '*' : [imported], typeOnly: entry.isType });
    }
  }
  for (const dynamic of result.module.dynamicImports) {
    const literal = /^\s*(['"`])([^'"`$]+)\1\s*$/.exec(text.slice(dynamic.moduleRequest.start, dynamic.moduleRequest.end));
    if (literal?.[2] !== undefined) imports.push({ specifier: literal[2], line: lineAt(dynamic.start), names: '*', typeOnly: false });
  }
  return { path, imports, exports, starExports };
}

function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function keys(value: unknown): string[] {
  return value !== null && typeof value === 'object' ? Object.keys(value) : [];
}
