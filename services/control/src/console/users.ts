import { createHash, timingSafeEqual } from 'node:crypto';
import { ROLES, type Role } from '@hookstream/contracts';

/** Someone the console knows by a token. */
export interface Principal {
  readonly user: string;
  readonly role: Role;
  /** SHA-256 of the token (tokens themselves are never kept). */
  readonly tokenSha256: Buffer;
}

/** The token of an `authorization: Bearer <token>` value, or undefined. Pure. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /^Bearer (.+)$/i.exec(authorization.trim())?.[1];
}

/** SHA-256 of a token. Pure. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Parses a users file: one `name role sha256-hex` per line (blank lines and
 * `#` comments skipped), e.g. `alice operator 9f86d0…`. The digest is of the
 * user's token (`printf %s "$TOKEN" | sha256sum`). Throws naming the line of
 * the first bad entry or a repeated name. Pure.
 */
export function parseUsersFile(text: string): Principal[] {
  const users: Principal[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [user = '', role = '', digest = '', ...rest] = line.split(/\s+/);
    const where = `line ${i + 1}`;
    if (rest.length > 0 || digest === '') throw new Error(`${where}: expected "name role sha256-hex"`);
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(user)) throw new Error(`${where}: user names are letters, digits, "_", ".", "@" and "-"`);
    if (!ROLES.includes(role as Role)) throw new Error(`${where}: role must be one of ${ROLES.join(', ')}`);
    if (!/^[0-9a-f]{64}$/i.test(digest)) throw new Error(`${where}: the token digest must be 64 hex digits (sha256)`);
    if (users.some((u) => u.user === user)) throw new Error(`${where}: user ${user} appears twice`);
    users.push({ user, role: role as Role, tokenSha256: Buffer.from(digest, 'hex') });
  }
  return users;
}

/**
 * The principal whose token is in `authorization: Bearer <token>`, or
 * undefined. Every principal is compared (constant time over digests), so
 * the answer's timing does not depend on which one matched. Pure.
 */
export function authenticate(authorization: string | undefined, principals: readonly Principal[]): Principal | undefined {
  const token = bearerToken(authorization);
  if (token === undefined) return undefined;
  const digest = tokenDigest(token);
  let found: Principal | undefined;
  for (const p of principals) if (timingSafeEqual(digest, p.tokenSha256) && found === undefined) found = p;
  return found;
}
