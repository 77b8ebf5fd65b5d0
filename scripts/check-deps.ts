// Lint check (run by `make lint`): every import is declared where it is used,
// and no service imports another service.
//
//   node scripts/check-deps.ts
//
// Rules, for every workspace (packages/*, services/*) and the root:
// - A workspace's src/ (what runs in production) imports only packages in
//   its OWN package.json `dependencies` (or peer/optional); a devDependency
//   there is an error, because `npm install --omit=dev` (the image) leaves it
//   out. And each of its `dependencies` is imported by src/: what only tests
//   or build scripts use is a devDependency, so the image does not carry it.
// - A workspace's other files (test/, build scripts, bundled browser code)
//   may also use its devDependencies, the root's devDependencies and
//   @hookstream/testkit.
// - Root files (bench/, test/, scripts/) use the root's dependencies and any
//   workspace package.
// - Relative imports stay inside their workspace (another package is
//   imported by name, through its public index); src/ never reaches out of
//   its workspace at all.
// - services/<a> never imports services/<b>, by name or by path: not from
//   src/, nor from its tests or build scripts (a scenario that needs two
//   services is a cross-service test and lives in the root's test/cross/ or
//   test/e2e/); and a package's src/ never imports a service.
//   services/pipeline, the composition service, is the one exception.
// - Every package.json pins exact versions (`1.2.3`, workspaces `0.1.0`): this
//   repo is an application, so what the manifests say is what the lockfile
//   holds and an upgrade is a visible diff; a package declared in several
//   manifests has one version.
// Node built-ins (`node:fs`, `fs`) are always allowed. Exits 1 and prints
// `file:line: message` for each violation.
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isRuntimeFile,
  listSourceFiles,
  ownerOf,
  packageOf,
  parseFile,
  type Repo,
  readRepo,
  resolveRelative,
  type Workspace,
} from './workspace-imports.ts';

/** Test helpers every workspace's tests may import without declaring them. */
const TEST_HELPERS: ReadonlySet<string> = new Set(['@hookstream/testkit']);

/**
 * Services allowed to import other services' public index (from src/ and tests):
 * the pipeline IS the six stages run in one process (a deployment shape, not
 * a consumer of their internals).
 */
const COMPOSITION_SERVICES: ReadonlySet<string> = new Set(['@hookstream/pipeline']);

/**
 * Known service-to-service imports, tolerated while they are being removed
 * (empty: control's came out with issue #20's ClickHouse and schema-compiler
 * packages). The check fails on an entry that no longer matches an import,
 * so a stale one cannot linger.
 */
const KNOWN_SERVICE_IMPORTS: ReadonlyArray<readonly [from: string, to: string]> = [];

/**
 * Known build-time imports from src/: packages/console/src/index.ts bundles
 * the web app with esbuild, a devDependency (the image bundles the console in
 * its build stage; control only resolves the dist/ path). INTEGRATOR: delete
 * once buildConsole lives in packages/console/build.ts.
 */
const KNOWN_DEV_IMPORTS_IN_SRC: ReadonlyArray<readonly [file: string, dependency: string]> = [['packages/console/src/index.ts', 'esbuild']];

/**
 * Runtime dependencies no src/ file imports, and why they are still needed
 * at run time: control serves @hookstream/console's bundle, found with
 * import.meta.resolve (no import statement).
 */
const UNIMPORTED_DEPENDENCIES: ReadonlyArray<readonly [workspace: string, dependency: string]> = [
  ['@hookstream/control', '@hookstream/console'],
];

/** The repository's exceptions to the rules; tests pass their own. */
export interface DepsPolicy {
  /** Packages any workspace's tests may import undeclared. */
  readonly testHelpers: ReadonlySet<string>;
  /** Services whose src/ and tests may import other services' public index. */
  readonly compositionServices: ReadonlySet<string>;
  /** Tolerated service-to-service imports, `[importer, imported]`; an entry nothing matches is itself a problem. */
  readonly knownServiceImports: ReadonlyArray<readonly [from: string, to: string]>;
  /** Tolerated devDependency imports from src/, `[file, dependency]`; an entry nothing matches is itself a problem. */
  readonly knownDevImportsInSrc: ReadonlyArray<readonly [file: string, dependency: string]>;
  /** `dependencies` entries src/ needs without importing them, `[workspace, dependency]`. */
  readonly unimportedDependencies: ReadonlyArray<readonly [workspace: string, dependency: string]>;
}

/** The policy `make lint` applies to this repository. */
export const HOOKSTREAM_POLICY: DepsPolicy = {
  testHelpers: TEST_HELPERS,
  compositionServices: COMPOSITION_SERVICES,
  knownServiceImports: KNOWN_SERVICE_IMPORTS,
  knownDevImportsInSrc: KNOWN_DEV_IMPORTS_IN_SRC,
  unimportedDependencies: UNIMPORTED_DEPENDENCIES,
};

/** One violation, printed as `file:line: message`. */
export interface Problem {
  readonly path: string;
  readonly line: number;
  readonly message: string;
}

/** Checks every source file and manifest of the repository at root (a git work tree); returns the violations, sorted by file and line. */
export function checkDeps(root: string, policy: DepsPolicy = HOOKSTREAM_POLICY): Problem[] {
  const repo = readRepo(root);
  const problems: Problem[] = [];
  const usedServiceAllowances = new Set<string>();
  const usedDevAllowances = new Set<string>();
  const importedBySrc = new Set<string>();
  for (const path of listSourceFiles(root)) {
    const owner = ownerOf(repo, path);
    const runtime = owner !== undefined && isRuntimeFile(owner, path);
    for (const ref of parseFile(root, path).imports) {
      if (runtime) importedBySrc.add(`${owner.name} -> ${packageOf(ref.specifier)}`);
      const report = (message: string): void => {
        problems.push({ path, line: ref.line, message: `${message} (import '${ref.specifier}')` });
      };
      const name = packageOf(ref.specifier);
      if (name === undefined) {
        if (ref.specifier.startsWith('.')) checkRelative(repo, owner, runtime, path, ref.specifier, report);
        continue;
      }
      if (isBuiltin(ref.specifier) || (owner !== undefined && name === owner.name)) continue;
      if (owner === undefined) {
        if (!repo.rootDeps.has(name) && !repo.workspaces.has(name)) report(`'${name}' is not declared in package.json (root)`);
        continue;
      }
      const target = repo.workspaces.get(name);
      if (owner.isService && target?.isService && !policy.compositionServices.has(owner.name)) {
        const key = `${owner.name} -> ${name}`;
        if (policy.knownServiceImports.some(([from, to]) => `${from} -> ${to}` === key)) usedServiceAllowances.add(key);
        else if (runtime)
          report(
            `service ${owner.name} imports service ${name}: a service never imports another service; move what they share to a package`,
          );
        else
          report(
            `a test or build file of service ${owner.name} imports service ${name}: a service's tests never import another service; move the scenario to the root's test/cross/ (or test/e2e/)`,
          );
      }
      if (runtime && !owner.isService && target?.isService) {
        report(`package ${owner.name} imports service ${name}: services build on packages, never the reverse`);
      }
      if (owner.runtimeDeps.has(name)) continue;
      if (runtime) {
        if (owner.devDeps.has(name)) {
          const key = `${path} -> ${name}`;
          if (policy.knownDevImportsInSrc.some(([file, dependency]) => `${file} -> ${dependency}` === key)) usedDevAllowances.add(key);
          else
            report(
              `'${name}' is only a devDependency of ${owner.dir}/package.json, but src/ runs in production: move it to "dependencies"`,
            );
        } else {
          report(`'${name}' is not declared in ${owner.dir}/package.json "dependencies"`);
        }
        continue;
      }
      if (owner.devDeps.has(name) || repo.rootDeps.has(name) || policy.testHelpers.has(name)) continue;
      report(`'${name}' is not declared in ${owner.dir}/package.json (dependencies or devDependencies) nor in the root's devDependencies`);
    }
  }
  for (const [from, to] of policy.knownServiceImports) {
    if (!usedServiceAllowances.has(`${from} -> ${to}`)) {
      problems.push({
        path: 'scripts/check-deps.ts',
        line: 1,
        message: `KNOWN_SERVICE_IMPORTS lists ${from} -> ${to}, which no longer happens: delete the entry`,
      });
    }
  }
  for (const [file, dependency] of policy.knownDevImportsInSrc) {
    if (!usedDevAllowances.has(`${file} -> ${dependency}`)) {
      problems.push({
        path: 'scripts/check-deps.ts',
        line: 1,
        message: `KNOWN_DEV_IMPORTS_IN_SRC lists ${file} -> ${dependency}, which no longer happens: delete the entry`,
      });
    }
  }
  for (const workspace of repo.workspaces.values()) {
    for (const dependency of workspace.runtimeDeps) {
      const key = `${workspace.name} -> ${dependency}`;
      if (importedBySrc.has(key) || policy.unimportedDependencies.some(([name, dep]) => `${name} -> ${dep}` === key)) continue;
      problems.push({
        path: `${workspace.dir}/package.json`,
        line: 1,
        message: `"${dependency}" is in "dependencies" but nothing in ${workspace.dir}/src imports it: remove it, or move it to "devDependencies" if only tests or build scripts use it`,
      });
    }
  }
  problems.push(...checkPins(repo));
  return problems.sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line);
}

const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** Exact pins only, and one version per package across every manifest. */
function checkPins(repo: Repo): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, { readonly version: string; readonly path: string }>();
  const manifests = ['package.json', ...[...repo.workspaces.values()].map((workspace) => `${workspace.dir}/package.json`)];
  for (const path of manifests) {
    const manifest = JSON.parse(readFileSync(join(repo.root, path), 'utf8')) as Record<string, unknown>;
    for (const field of DEPENDENCY_FIELDS) {
      const specs = (manifest[field] ?? {}) as Record<string, string>;
      for (const [name, version] of Object.entries(specs)) {
        // peerDependencies state a compatible range by design; the other fields pin.
        if (field !== 'peerDependencies' && !EXACT_VERSION.test(version)) {
          problems.push({
            path,
            line: 1,
            message: `${field} "${name}": "${version}" is not an exact version: pin it (e.g. "${version.replace(/^[\^~>=<\s]+/, '')}")`,
          });
          continue;
        }
        const first = seen.get(name);
        if (first === undefined) seen.set(name, { version, path });
        else if (first.version !== version && field !== 'peerDependencies') {
          problems.push({
            path,
            line: 1,
            message: `${field} "${name}": "${version}" differs from "${first.version}" in ${first.path}: one version per package`,
          });
        }
      }
    }
  }
  return problems;
}

function checkRelative(
  repo: Repo,
  owner: Workspace | undefined,
  runtime: boolean,
  path: string,
  specifier: string,
  report: (message: string) => void,
): void {
  const target = resolveRelative(repo.root, path, specifier);
  if (target.startsWith('../')) {
    report('imports a file outside the repository');
    return;
  }
  const targetOwner = ownerOf(repo, target);
  if (targetOwner === owner) return;
  if (targetOwner !== undefined) {
    const serviceToService = owner?.isService === true && targetOwner.isService;
    report(
      serviceToService
        ? `service ${owner.name} imports a file of service ${targetOwner.name}: a service never imports another service`
        : `imports ${target}, a file of ${targetOwner.name}, by path: import '${targetOwner.name}' (its public index) instead`,
    );
    return;
  }
  // Root-level files (test/e2e helpers) are shared test code: tests may use them, production code may not.
  if (owner !== undefined && runtime) report(`src/ imports ${target}, outside ${owner.dir}: production code stays inside its package`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const problems = checkDeps(root);
  for (const problem of problems) console.error(`${problem.path}:${problem.line}: ${problem.message}`);
  if (problems.length > 0) {
    console.error(`check-deps: ${problems.length} problem(s)`);
    process.exitCode = 1;
  } else {
    console.log('check-deps: every import is declared; no service imports another service (but the tolerated ones below)');
    for (const [from, to] of KNOWN_SERVICE_IMPORTS)
      console.log(`check-deps: tolerated until issue #20 merges: ${from} imports ${to} (KNOWN_SERVICE_IMPORTS)`);
    for (const [file, dependency] of KNOWN_DEV_IMPORTS_IN_SRC) {
      console.log(`check-deps: tolerated: ${file} imports devDependency ${dependency} (KNOWN_DEV_IMPORTS_IN_SRC)`);
    }
  }
}
