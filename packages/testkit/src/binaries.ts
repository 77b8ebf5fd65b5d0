import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Thrown when a server binary the tests need is not installed. */
export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
}

/**
 * Finds an executable on PATH or in the Debian locations (/usr/sbin is not
 * on every user's PATH). Throws {@link MissingBinaryError} saying how to
 * install it.
 */
export function findBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new MissingBinaryError(
    `${name} not found on PATH or in /usr/sbin. Install it with \`apt-get install ${debianPackage}\` (or run \`make setup\`).`,
  );
}

/** The oldest nats-server hookstream supports (2.9 and 2.10 cannot fsync every write safely or are out of support). */
export const MIN_NATS_SERVER = [2, 11] as const;

let natsServerCache: { path: string; version: string } | undefined;

/**
 * The nats-server the tests and benchmarks run: `HS_NATS_SERVER` when set,
 * else the one scripts/nats-server.sh provisions into `.tools/nats/bin`, else
 * the first on PATH. Throws {@link MissingBinaryError} when none is found or
 * the one found is older than {@link MIN_NATS_SERVER}, saying how to get one.
 */
export function findNatsServer(): { path: string; version: string } {
  if (natsServerCache !== undefined) return natsServerCache;
  const provisioned = join(import.meta.dirname, '..', '..', '..', '.tools', 'nats', 'bin', 'nats-server');
  const candidates = [process.env.HS_NATS_SERVER, provisioned].filter((p): p is string => p !== undefined && p !== '');
  let path = candidates.find((p) => isExecutable(p));
  if (path === undefined) {
    try {
      path = findBinary('nats-server', 'nats-server');
    } catch {
      throw new MissingBinaryError(
        'nats-server not found: run `make setup` (scripts/nats-server.sh provisions nats-server >= 2.11 into .tools/nats).',
      );
    }
  }
  const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
  const version = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
  const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
  if (major < MIN_NATS_SERVER[0] || (major === MIN_NATS_SERVER[0] && minor < MIN_NATS_SERVER[1])) {
    throw new MissingBinaryError(
      `${path} is nats-server ${version?.[0] ?? out.trim()}; hookstream needs >= ${MIN_NATS_SERVER.join('.')}. Run \`make setup\` (scripts/nats-server.sh) or set HS_NATS_SERVER.`,
    );
  }
  natsServerCache = { path, version: version?.[0] ?? '' };
  return natsServerCache;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
