// Lint check (`make lint-exports`): each package's public index exports only
// what someone outside the package imports.
//
//   node scripts/check-exports.ts
//
// For every workspace with a src/index.ts, lists the names its index exports
// (following `export … from` and `export *` inside the package) that
//   - nothing imports: unused, delete the export (or the code), or
//   - only the package itself imports (its own tests or build script): not
//     public surface; those files import the module by path instead.
// Users are every other workspace, the root's bench/, test/ and scripts/.
// A namespace import or a dynamic import of the package counts as using every
// name. Exits 1 when any package has such an export.
import { fileURLToPath } from 'node:url';
import {
  listSourceFiles,
  ownerOf,
  packageOf,
  parseFile,
  readRepo,
  resolveRelative,
  type SourceFile,
  type Workspace,
} from './workspace-imports.ts';

/** What the check found for one package. */
export interface ExportFindings {
  readonly workspace: string;
  /** Every name the public index exports. */
  readonly exported: readonly string[];
  /** Exported names nothing imports. */
  readonly unused: readonly string[];
  /** Exported names only the package's own files (tests, build script) import. */
  readonly ownOnly: readonly string[];
  /** The type-only names among the exported ones. */
  readonly types: ReadonlySet<string>;
}

/** Computes the findings for every workspace that has a src/index.ts, sorted by workspace name. */
export function checkExports(root: string): ExportFindings[] {
  const repo = readRepo(root);
  const files = new Map<string, SourceFile>();
  for (const path of listSourceFiles(root)) files.set(path, parseFile(root, path));
  const usedBy = new Map<string, Map<string, Set<'own' | 'other'>>>();
  for (const file of files.values()) {
    const owner = ownerOf(repo, file.path);
    for (const ref of file.imports) {
      // A package's own files may import its index by path (packages/console/build.ts does).
      const ownIndex =
        owner !== undefined &&
        ref.specifier.startsWith('.') &&
        resolveRelative(root, file.path, ref.specifier) === `${owner.dir}/src/index.ts`;
      const name = ownIndex ? owner.name : packageOf(ref.specifier);
      if (name === undefined || !repo.workspaces.has(name)) continue;
      const who = owner?.name === name ? 'own' : 'other';
      const byName = usedBy.get(name) ?? new Map<string, Set<'own' | 'other'>>();
      usedBy.set(name, byName);
      for (const used of ref.names === '*' ? ['*'] : ref.names) {
        const set = byName.get(used) ?? new Set();
        set.add(who);
        byName.set(used, set);
      }
    }
  }
  const findings: ExportFindings[] = [];
  for (const workspace of [...repo.workspaces.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const index = `${workspace.dir}/src/index.ts`;
    if (!files.has(index)) continue;
    const names = exportedNames(root, files, workspace, index, new Set());
    const exported = [...names.keys()].sort();
    const types = new Set(exported.filter((name) => names.get(name) === true));
    const byName = usedBy.get(workspace.name) ?? new Map<string, Set<'own' | 'other'>>();
    const everything = byName.get('*') ?? new Set();
    const unused: string[] = [];
    const ownOnly: string[] = [];
    for (const name of exported) {
      const users = new Set([...(byName.get(name) ?? []), ...everything]);
      if (users.has('other')) continue;
      if (users.has('own')) ownOnly.push(name);
      else unused.push(name);
    }
    findings.push({ workspace: workspace.name, exported, unused, ownOnly, types });
  }
  return findings;
}

/** Names a module exports, following re-exports from files of the same workspace. */
function exportedNames(
  root: string,
  files: ReadonlyMap<string, SourceFile>,
  workspace: Workspace,
  path: string,
  visiting: Set<string>,
): Map<string, boolean> {
  const names = new Map<string, boolean>();
  const file = files.get(path);
  if (file === undefined || visiting.has(path)) return names;
  visiting.add(path);
  for (const ref of file.exports) names.set(ref.name, ref.isType);
  for (const specifier of file.starExports) {
    if (!specifier.startsWith('.')) continue;
    const target = resolveRelative(root, path, specifier);
    if (!target.startsWith(`${workspace.dir}/`)) continue;
    for (const [name, isType] of exportedNames(root, files, workspace, target, visiting)) if (name !== 'default') names.set(name, isType);
  }
  return names;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let failed = false;
  for (const finding of checkExports(root)) {
    const { workspace, exported, unused, ownOnly, types } = finding;
    if (unused.length === 0 && ownOnly.length === 0) continue;
    failed = true;
    console.error(
      `${workspace}: ${exported.length} exported (${exported.length - types.size} values, ${types.size} types); ` +
        `${unused.length} unused, ${ownOnly.length} used only by the package itself`,
    );
    const list = (label: string, names: readonly string[]): void => {
      if (names.length > 0) console.error(`  ${label} (${names.length}): ${names.join(', ')}`);
    };
    list(
      'unused values',
      unused.filter((name) => !types.has(name)),
    );
    list(
      'unused types',
      unused.filter((name) => types.has(name)),
    );
    list(
      'values only its own tests/build import',
      ownOnly.filter((name) => !types.has(name)),
    );
    list(
      'types only its own tests/build import',
      ownOnly.filter((name) => types.has(name)),
    );
  }
  if (failed) {
    console.error('check-exports: trim these from the public index (src/index.ts); the package imports its own modules by path');
    process.exitCode = 1;
  } else {
    console.log('check-exports: every public export is imported outside its package');
  }
}
