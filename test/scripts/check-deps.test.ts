// The lint checks scripts/check-deps.ts and scripts/check-exports.ts, run on
// a small fixture repository (a git work tree in a temporary directory) that
// breaks each rule once, and on this repository, which must pass both.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkDeps, type DepsPolicy } from '../../scripts/check-deps.ts';
import { checkExports } from '../../scripts/check-exports.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const FIXTURE: Record<string, string> = {
  'package.json': JSON.stringify({
    name: 'fixture',
    private: true,
    workspaces: ['packages/*', 'services/*'],
    devDependencies: { 'fast-check': '4.11.0' },
  }),
  'packages/lib/package.json': JSON.stringify({
    name: '@fx/lib',
    version: '0.1.0',
    dependencies: { pino: '10.4.0' },
    devDependencies: { esbuild: '0.28.2' },
  }),
  'packages/lib/src/index.ts': [
    "import pino from 'pino';",
    "import { build } from 'esbuild';",
    'export const used = pino;',
    'export const unused = build;',
    'export const testOnly = 1;',
    'export type UsedType = number;',
    'export interface Options { readonly nested: Nested }',
    'export interface Nested { readonly n: number }',
    'export type Orphan = string;',
    'export const documented = 2;',
    '/** Uses its own types in its signature, not only its body. */',
    'export function start(options: Options): Promise<void> { const o: Orphan = String(options); return Promise.resolve(void o); }',
  ].join('\n'),
  'packages/lib/test/lib.test.ts': ["import fc from 'fast-check';", "import { testOnly } from '@fx/lib';", 'void fc, testOnly;'].join('\n'),
  'packages/kit/package.json': JSON.stringify({ name: '@fx/kit', version: '0.1.0', dependencies: { '@fx/b': '0.1.0' } }),
  'packages/kit/src/index.ts': "export { b as kit } from '@fx/b';",
  'services/a/package.json': JSON.stringify({
    name: '@fx/a',
    version: '0.1.0',
    dependencies: { '@fx/lib': '0.1.0', '@fx/b': '0.1.0' },
    devDependencies: { undici: '^8.0.0' },
  }),
  'services/a/src/app.ts': [
    "import type { UsedType } from '@fx/lib';",
    "import { start, used } from '@fx/lib';",
    "import { parse } from 'yaml';",
    "import { b } from '@fx/b';",
    "import { inner } from '../../b/src/inner.ts';",
    "import { readFileSync } from 'node:fs';",
    'export const all: UsedType = [used, parse, b, inner, readFileSync, start].length;',
  ].join('\n'),
  'services/a/test/app.test.ts': [
    "import { kit } from '@fx/kit';",
    "import { request } from 'undici';",
    "import { all } from '../src/app.ts';",
    "import { later } from '../../../test/helpers.ts';",
    'void kit, request, all, later;',
  ].join('\n'),
  'services/a/test/b.int.test.ts': "import { b } from '@fx/b';\nvoid b;",
  'services/b/package.json': JSON.stringify({ name: '@fx/b', version: '0.1.0', dependencies: { pino: '10.3.0' } }),
  'services/b/src/index.ts': "export { b } from './inner.ts';",
  'services/b/src/inner.ts': 'export const b = 1;\nexport const inner = 2;',
  'test/helpers.ts': [
    "import { kit } from '@fx/kit';",
    "import { inner } from '../services/b/src/inner.ts';",
    // A subpath entry point of @fx/lib: uses none of the names of its index (testOnly stays "own only").
    "import { testOnly as viaSubpath } from '@fx/lib/sub';",
    'export const later = kit + inner + viaSubpath;',
  ].join('\n'),
};

const POLICY: DepsPolicy = {
  testHelpers: new Set(['@fx/kit']),
  compositionServices: new Set(),
  knownServiceImports: [['@fx/a', '@fx/gone']],
  knownDevImportsInSrc: [],
  unimportedDependencies: [],
};

let fixture = '';

before(() => {
  fixture = mkdtempSync(join(tmpdir(), 'hs-check-deps-'));
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), `${text}\n`);
  }
  execFileSync('git', ['init', '--quiet'], { cwd: fixture });
});

after(() => rmSync(fixture, { recursive: true, force: true }));

describe('check-deps', () => {
  it('check-deps: names each file, line and import that breaks a rule, and nothing else', () => {
    const found = checkDeps(fixture, POLICY).map((problem) => `${problem.path}:${problem.line}: ${problem.message}`);
    assert.deepEqual(found, [
      "packages/kit/src/index.ts:1: package @fx/kit imports service @fx/b: services build on packages, never the reverse (import '@fx/b')",
      "packages/lib/src/index.ts:2: 'esbuild' is only a devDependency of packages/lib/package.json, but src/ runs in production: move it to \"dependencies\" (import 'esbuild')",
      'scripts/check-deps.ts:1: KNOWN_SERVICE_IMPORTS lists @fx/a -> @fx/gone, which no longer happens: delete the entry',
      'services/a/package.json:1: devDependencies "undici": "^8.0.0" is not an exact version: pin it (e.g. "8.0.0")',
      "services/a/src/app.ts:3: 'yaml' is not declared in services/a/package.json \"dependencies\" (import 'yaml')",
      "services/a/src/app.ts:4: service @fx/a imports service @fx/b: a service never imports another service; move what they share to a package (import '@fx/b')",
      "services/a/src/app.ts:5: service @fx/a imports a file of service @fx/b: a service never imports another service (import '../../b/src/inner.ts')",
      "services/a/test/b.int.test.ts:1: a test or build file of service @fx/a imports service @fx/b: a service's tests never import another service; move the scenario to the root's test/cross/ (or test/e2e/) (import '@fx/b')",
      'services/b/package.json:1: "pino" is in "dependencies" but nothing in services/b/src imports it: remove it, or move it to "devDependencies" if only tests or build scripts use it',
      'services/b/package.json:1: dependencies "pino": "10.3.0" differs from "10.4.0" in packages/lib/package.json: one version per package',
      "test/helpers.ts:2: imports services/b/src/inner.ts, a file of @fx/b, by path: import '@fx/b' (its public index) instead (import '../services/b/src/inner.ts')",
    ]);
  });

  it('check-deps: a composition service may import other services by name, never by path', () => {
    const found = checkDeps(fixture, { ...POLICY, compositionServices: new Set(['@fx/a']), knownServiceImports: [] });
    assert.deepEqual(
      found.filter((problem) => problem.message.includes('another service')).map((problem) => `${problem.path}:${problem.line}`),
      ['services/a/src/app.ts:5'],
    );
  });

  it('check-deps: this repository passes', () => {
    assert.deepEqual(checkDeps(repoRoot), []);
  });
});

describe('check-exports', () => {
  it('check-exports: lists index exports nothing outside the package imports, and those only its own tests import', () => {
    const byName = new Map(checkExports(fixture, []).map((finding) => [finding.workspace, finding]));
    assert.deepEqual(byName.get('@fx/lib')?.unused, ['Orphan', 'documented', 'unused']);
    assert.deepEqual(byName.get('@fx/lib')?.ownOnly, ['testOnly']);
    assert.deepEqual([...(byName.get('@fx/lib')?.types ?? [])], ['Nested', 'Options', 'Orphan', 'UsedType']);
    assert.deepEqual(byName.get('@fx/b')?.exported, ['b']);
    assert.deepEqual(byName.get('@fx/b')?.unused, []);
    assert.deepEqual(byName.get('@fx/kit')?.unused, []);
  });

  it('check-exports: keeps a type named in the signature of a kept export (transitively), never one named only in a body', () => {
    const lib = checkExports(fixture, []).find((finding) => finding.workspace === '@fx/lib');
    assert.deepEqual(lib?.inSignature, ['Nested', 'Options']);
    assert.ok(lib?.unused.includes('Orphan'));
  });

  it('check-exports: keeps an allowlisted export, and reports an entry that is stale', () => {
    const allowlist = [
      ['@fx/lib', 'documented', 'the docs say so'],
      ['@fx/lib', 'used', 'imported from outside anyway'],
      ['@fx/lib', 'gone', 'no longer exported'],
    ] as const;
    const lib = checkExports(fixture, allowlist).find((finding) => finding.workspace === '@fx/lib');
    assert.deepEqual(lib?.allowlisted, ['documented']);
    assert.deepEqual(lib?.unused, ['Orphan', 'unused']);
    assert.deepEqual(lib?.staleAllowlist, ['gone', 'used']);
  });

  it('check-exports: this repository passes', () => {
    const failing = checkExports(repoRoot).filter(
      (finding) => finding.unused.length > 0 || finding.ownOnly.length > 0 || finding.staleAllowlist.length > 0,
    );
    assert.deepEqual(
      failing.map((finding) => finding.workspace),
      [],
    );
  });
});
