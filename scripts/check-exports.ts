// Lint check (run by `make lint`): each package's public index exports only
// what someone outside the package imports.
//
//   node scripts/check-exports.ts
//
// For every workspace with a src/index.ts, lists the names its index exports
// (following `export … from` and `export *` inside the package) that
//   - nothing imports: unused, delete the export (or the code), or
//   - only the package itself imports (its own tests or build script): not
//     public surface; those files import the module by path
//     (`../src/x.ts`) instead.
// Users are every other workspace, the root's bench/, test/ and scripts/.
// A namespace import or a dynamic import of the package counts as using every
// name; an import of a subpath export (`@hookstream/contracts/rpc-roles`)
// counts for none of the index's names.
//
// Two kinds of export stay although nobody outside imports them by name:
//   - A type-only export (interface, type alias) named in the signature of an
//     export that stays: a function's parameters and return type, a class's
//     non-private members, an interface's members, a type alias, a constant's
//     annotation (not function bodies or initializers). A caller of
//     `startSink(options: SinkOptions)` must be able to name `SinkOptions`.
//     This applies transitively (an options type named in a kept interface),
//     and only to types: a value export (a function, a class, a constant)
//     stays only when someone imports it.
//   - A name on ALLOWLIST below: public API the docs (README, docs/*.md) tell
//     users to import, with the reason. An entry whose name is no longer
//     exported, or that is imported from outside anyway, is itself an error,
//     so the list cannot go stale.
// Exits 1 when any package has an export that is neither used nor kept.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from 'oxc-parser';
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

/** One documented export kept although nothing in the repository imports it: `[workspace, name, where the docs name it]`. */
export type AllowlistEntry = readonly [workspace: string, name: string, why: string];

/**
 * Public API the docs tell users to import, kept in the index although no
 * other workspace imports it today.
 */
const ALLOWLIST: readonly AllowlistEntry[] = [
  // docs/subjects.md ("Where each contract is defined") names `RecordMap` as the
  // contract of analytics records for the teams consuming events.> and hs.obs.>:
  // the kind -> record shape map every record<K>() publishes.
  ['@hookstream/contracts', 'RecordMap', 'docs/subjects.md: the analytics record contract (kind -> record shape)'],
  // docs/console-ui.md: "From code: `buildConsole({ outDir, minify })` and
  // `CONSOLE_DIST_DIR` from `@hookstream/console`" (today only the package's
  // own build.ts calls them; control finds dist/ with import.meta.resolve).
  ['@hookstream/console', 'buildConsole', 'docs/console-ui.md: builds the bundle from code'],
  ['@hookstream/console', 'CONSOLE_DIST_DIR', 'docs/console-ui.md: where the bundle is written'],
  // packages/consumer/README.md is the guide of the teams consuming events.>:
  // the kit is their API, so what it tells them to call stays public although
  // only its own tests call these inside this repository.
  ['@hookstream/consumer', 'parseEvent', 'packages/consumer/README.md: the typed envelope of a message'],
  ['@hookstream/consumer', 'EnvelopeError', 'packages/consumer/README.md: what parseEvent throws for a message that is not an event'],
  ['@hookstream/consumer', 'deadLetter', "packages/consumer/README.md: dead-letter a team's own failure"],
  ['@hookstream/consumer', 'CONSUMER_DEFAULTS', 'packages/consumer/README.md: the settings table'],
];

/** What the check found for one package. */
export interface ExportFindings {
  readonly workspace: string;
  /** Every name the public index exports. */
  readonly exported: readonly string[];
  /** Exported names nothing imports (and not kept by a signature or the allowlist). */
  readonly unused: readonly string[];
  /** Exported names only the package's own files (tests, build script) import (and not kept by a signature or the allowlist). */
  readonly ownOnly: readonly string[];
  /** Type-only exports nobody imports from outside, kept because an export that stays names them in its signature. */
  readonly inSignature: readonly string[];
  /** Exports kept because the allowlist names them. */
  readonly allowlisted: readonly string[];
  /** Allowlist entries for this workspace that no longer apply (not exported, or imported from outside anyway). */
  readonly staleAllowlist: readonly string[];
  /** The type-only names among the exported ones. */
  readonly types: ReadonlySet<string>;
}

/** Computes the findings for every workspace that has a src/index.ts, sorted by workspace name. */
export function checkExports(root: string, allowlist: readonly AllowlistEntry[] = ALLOWLIST): ExportFindings[] {
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
      // A subpath (`@hookstream/contracts/rpc-roles`) is another entry point, not the index: it uses none of the index's names.
      const name = ownIndex ? owner.name : ref.specifier === packageOf(ref.specifier) ? ref.specifier : undefined;
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
  const signatures = new SignatureReader(root);
  const findings: ExportFindings[] = [];
  for (const workspace of [...repo.workspaces.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const index = `${workspace.dir}/src/index.ts`;
    if (!files.has(index)) continue;
    const names = exportedNames(root, files, workspace, index, new Set());
    const exported = [...names.keys()].sort();
    const types = new Set(exported.filter((name) => names.get(name) === true));
    const byName = usedBy.get(workspace.name) ?? new Map<string, Set<'own' | 'other'>>();
    const everything = byName.get('*') ?? new Set();
    const usersOf = (name: string): Set<'own' | 'other'> => new Set([...(byName.get(name) ?? []), ...everything]);
    const listed = new Set(allowlist.filter(([name]) => name === workspace.name).map(([, name]) => name));
    const staleAllowlist = [...listed].filter((name) => !names.has(name) || usersOf(name).has('other')).sort();
    const allowlisted = exported.filter((name) => listed.has(name) && !usersOf(name).has('other'));
    // The exports that stay: imported from outside, or allowlisted; then, to a fixed point, the types their signatures name.
    const kept = new Set(exported.filter((name) => usersOf(name).has('other') || listed.has(name)));
    const inSignature: string[] = [];
    const pending = [...kept];
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      for (const referenced of signatures.namesIn(index, name)) {
        if (!types.has(referenced) || kept.has(referenced)) continue;
        kept.add(referenced);
        inSignature.push(referenced);
        pending.push(referenced);
      }
    }
    const unused: string[] = [];
    const ownOnly: string[] = [];
    for (const name of exported) {
      if (kept.has(name)) continue;
      if (usersOf(name).has('own')) ownOnly.push(name);
      else unused.push(name);
    }
    findings.push({
      workspace: workspace.name,
      exported,
      unused,
      ownOnly,
      inSignature: inSignature.sort(),
      allowlisted,
      staleAllowlist,
      types,
    });
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

// A loosely typed view of oxc-parser's ESTree nodes: the walk below reads only `type`, a few named fields and children.
type AstNode = { readonly type: string; readonly [field: string]: unknown };

const FUNCTION_NODES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'TSDeclareFunction']);

/**
 * Reads the declaration behind an exported name (following `export { a } from`
 * and `export { local as a }` inside the repository) and lists the identifiers
 * its signature mentions: everything but function bodies, private class
 * members and constant initializers that are not functions.
 */
class SignatureReader {
  readonly #root: string;
  readonly #programs = new Map<string, readonly AstNode[]>();

  constructor(root: string) {
    this.#root = root;
  }

  /** Identifiers named in the signature of `name` as exported by the module at `path`; empty when it cannot be found. */
  namesIn(path: string, name: string, depth = 0): Set<string> {
    const found = new Set<string>();
    if (depth > 8) return found;
    for (const statement of this.#body(path)) {
      if (statement.type === 'ExportNamedDeclaration') {
        const declaration = statement.declaration as AstNode | null;
        if (declaration !== null && declaration !== undefined) {
          if (declares(declaration, name)) collect(declaration, name, found);
          continue;
        }
        for (const specifier of (statement.specifiers as AstNode[] | undefined) ?? []) {
          if (nameOf(specifier.exported) !== name) continue;
          const local = nameOf(specifier.local) ?? name;
          const source = (statement.source as { value?: string } | null)?.value;
          if (source !== undefined) {
            if (source.startsWith('.'))
              for (const n of this.namesIn(resolveRelative(this.#root, path, source), local, depth + 1)) found.add(n);
          } else {
            for (const other of this.#body(path)) if (declares(other, local)) collect(other, local, found);
          }
        }
      }
    }
    return found;
  }

  #body(path: string): readonly AstNode[] {
    const cached = this.#programs.get(path);
    if (cached !== undefined) return cached;
    let body: readonly AstNode[] = [];
    try {
      const program = parseSync(path, readFileSync(join(this.#root, path), 'utf8')).program as unknown as { body: AstNode[] };
      body = program.body;
    } catch {
      // A missing file has no signature to read; check-deps and tsc report it.
    }
    this.#programs.set(path, body);
    return body;
  }
}

function nameOf(node: unknown): string | undefined {
  const value = node as { name?: unknown; value?: unknown } | null | undefined;
  if (typeof value?.name === 'string') return value.name;
  return typeof value?.value === 'string' ? value.value : undefined;
}

/** True when the top-level declaration introduces `name`. */
function declares(declaration: AstNode, name: string): boolean {
  if (declaration.type === 'VariableDeclaration') {
    return ((declaration.declarations as AstNode[] | undefined) ?? []).some((declarator) => nameOf(declarator.id) === name);
  }
  return nameOf(declaration.id) === name;
}

/** Adds the identifiers in the signature part of a declaration (for a variable list, only `name`'s declarator). */
function collect(declaration: AstNode, name: string, into: Set<string>): void {
  if (declaration.type !== 'VariableDeclaration') {
    walk(declaration, into);
    return;
  }
  for (const declarator of (declaration.declarations as AstNode[] | undefined) ?? []) {
    if (nameOf(declarator.id) !== name) continue;
    walk(declarator.id as AstNode, into);
    const init = declarator.init as AstNode | null | undefined;
    if (init !== null && init !== undefined && FUNCTION_NODES.has(init.type)) walk(init, into);
  }
}

function walk(node: AstNode, into: Set<string>): void {
  if (node.type === 'Identifier' && typeof node.name === 'string') into.add(node.name);
  const isFunction = FUNCTION_NODES.has(node.type);
  for (const [field, child] of Object.entries(node)) {
    // A function's body is implementation, not signature; so are a private member and a decorator.
    if (isFunction && field === 'body') continue;
    if (field === 'decorators') continue;
    for (const item of Array.isArray(child) ? child : [child]) {
      if (item === null || typeof item !== 'object' || typeof (item as AstNode).type !== 'string') continue;
      const member = item as AstNode;
      if (member.accessibility === 'private' || (member.key as AstNode | undefined)?.type === 'PrivateIdentifier') continue;
      walk(member, into);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let failed = false;
  const summary: string[] = [];
  for (const finding of checkExports(root)) {
    const { workspace, exported, unused, ownOnly, inSignature, allowlisted, staleAllowlist, types } = finding;
    summary.push(
      `check-exports: ${workspace}: ${exported.length} exported` +
        (inSignature.length > 0 ? `, ${inSignature.length} types kept by a signature` : '') +
        (allowlisted.length > 0 ? `, allowlisted: ${allowlisted.join(', ')}` : ''),
    );
    if (staleAllowlist.length > 0) {
      failed = true;
      console.error(
        `${workspace}: ALLOWLIST in scripts/check-exports.ts lists ${staleAllowlist.join(', ')}, no longer exported or now imported from outside: delete the entry`,
      );
    }
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
    console.error(
      'check-exports: trim these from the public index (src/index.ts); the package imports its own modules by path (../src/x.ts)',
    );
    process.exitCode = 1;
  } else {
    if (process.argv.includes('--verbose')) for (const line of summary) console.log(line);
    console.log('check-exports: every public export is imported outside its package, named in a kept signature, or allowlisted');
  }
}
