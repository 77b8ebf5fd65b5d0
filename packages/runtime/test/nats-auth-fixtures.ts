import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = nkeys.KeyPair;

/** The files of a test PKI: a CA, a server certificate for 127.0.0.1 and two client certificates. */
export interface TestPki {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** Signed by `caFile`. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** Signed by a CA the server does not trust. */
  readonly rogueCertFile: string;
  readonly rogueKeyFile: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): string {
  openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
  return join(dir, name);
}

function selfSignedCa(dir: string, name: string): { cert: string; key: string } {
  const key = newKey(dir, `${name}.key`);
  openssl(dir, 'req', '-x509', '-new', '-key', key, '-days', '1', '-subj', `/CN=${name}`, '-out', `${name}.pem`);
  return { cert: join(dir, `${name}.pem`), key };
}

function issue(dir: string, name: string, ca: { cert: string; key: string }, extensions: string): { cert: string; key: string } {
  const key = newKey(dir, `${name}.key`);
  openssl(dir, 'req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  );
  return { cert: join(dir, `${name}.pem`), key };
}

/** Generates a {@link TestPki} in `dir` with `openssl` (EC P-256 keys, valid one day). */
export function makePki(dir: string): TestPki {
  const ca = selfSignedCa(dir, 'hs-test-ca');
  const server = issue(dir, 'server', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  const client = issue(dir, 'client', ca, 'extendedKeyUsage=clientAuth');
  const rogue = issue(dir, 'rogue', selfSignedCa(dir, 'rogue-ca'), 'extendedKeyUsage=clientAuth');
  return {
    caFile: ca.cert,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    rogueCertFile: rogue.cert,
    rogueKeyFile: rogue.key,
  };
}

/** The seed of a key pair as text (`SU...` for a user). */
export function seedOf(kp: KeyPair): string {
  return new TextDecoder().decode(kp.getSeed());
}

/** Writes a new user's seed (with the trailing newline `nk -gen user` writes) to `path`; returns the key pair. */
export function writeUserSeed(path: string): KeyPair {
  const user = nkeys.createUser();
  writeFileSync(path, `${seedOf(user)}\n`);
  return user;
}

const NO_LIMITS = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

/**
 * A NATS JWT (header.claims.signature, Ed25519 by an NKey) signed by
 * `issuer`, as nsc would write it; `exp` in epoch seconds.
 */
export function signJwt(issuer: KeyPair, sub: string, nats: Record<string, unknown>, exp?: number): string {
  const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');
  const header = b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name: sub.slice(0, 8),
    sub,
    nats,
  };
  if (exp !== undefined) claims.exp = exp;
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
  const payload = b64(JSON.stringify(claims));
  return `${header}.${payload}.${b64(issuer.sign(new TextEncoder().encode(`${header}.${payload}`)))}`;
}

/** A .creds file's text, in the layout nsc writes. */
export function credsText(jwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}

/**
 * An operator, a system account and one application account with
 * JetStream, minted offline (no nsc): the server config for operator mode
 * with a memory resolver, and a way to issue user .creds files.
 */
export interface OperatorFixture {
  /** Lines for nats-server's config file. */
  readonly serverConfig: string;
  /** Writes a .creds file for a new user of the application account to `path`; `exp` in epoch seconds. */
  writeUserCreds(path: string, exp?: number): void;
  /** Writes a .creds file for a user signed by an account the server does not know. */
  writeForeignCreds(path: string): void;
}

/** Mints an {@link OperatorFixture}. */
export function makeOperator(): OperatorFixture {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const app = nkeys.createAccount();
  const operatorJwt = signJwt(operator, operator.getPublicKey(), { type: 'operator', version: 2 });
  const systemJwt = signJwt(operator, system.getPublicKey(), { type: 'account', version: 2, limits: NO_LIMITS });
  const appJwt = signJwt(operator, app.getPublicKey(), {
    type: 'account',
    version: 2,
    limits: { ...NO_LIMITS, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const user = (account: KeyPair, path: string, exp?: number): void => {
    const kp = nkeys.createUser();
    const jwt = signJwt(account, kp.getPublicKey(), { type: 'user', version: 2, pub: {}, sub: {}, subs: -1, data: -1, payload: -1 }, exp);
    writeFileSync(path, credsText(jwt, seedOf(kp)));
  };
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: { ${system.getPublicKey()}: ${systemJwt}, ${app.getPublicKey()}: ${appJwt} }`,
    ].join('\n'),
    writeUserCreds: (path, exp) => user(app, path, exp),
    writeForeignCreds: (path) => user(nkeys.createAccount(), path),
  };
}
