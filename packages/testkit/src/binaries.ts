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
