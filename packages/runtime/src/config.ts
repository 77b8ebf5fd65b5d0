import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretBox, SecretBoxError } from '@hookstream/models';
import { credsAuthenticator, nkeys } from '@nats-io/transport-node';
import { ConfigError } from './errors.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values from an environment, collecting every problem instead of
 * stopping at the first, so a bad deployment learns all its mistakes at once.
 * Call `done()` after the last read: it throws a {@link ConfigError} naming
 * each bad variable.
 */
export class EnvReader {
  readonly #env: Env;
  readonly #problems: string[] = [];

  constructor(env: Env = process.env) {
    this.#env = env;
  }

  /** A string; `fallback` when unset or empty. */
  string(name: string, fallback: string): string {
    const raw = this.#env[name];
    return raw === undefined || raw === '' ? fallback : raw;
  }

  /** An optional string: undefined when unset or empty. */
  optionalString(name: string): string | undefined {
    const raw = this.#env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  /** An integer within [min, max]; `fallback` when unset. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.#problems.push(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }

  /** One of the allowed words; `fallback` when unset. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.#problems.push(`${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return raw as T;
  }

  /** `true`/`false`/`1`/`0`; `fallback` when unset. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.#problems.push(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
    return fallback;
  }

  /** A comma-separated list of non-empty items; `fallback` when unset. */
  list(name: string, fallback: readonly string[]): string[] {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return [...fallback];
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** The master keys (`HS_MASTER_KEY` or `HS_MASTER_KEYS` + `HS_MASTER_KEY_ID`), or undefined when unset. */
  secretBox(): SecretBox | undefined {
    try {
      return secretBoxFromEnv(this.#env);
    } catch (err) {
      if (err instanceof ConfigError) {
        this.#problems.push(...err.problems);
        return undefined;
      }
      throw err;
    }
  }

  /** Records a problem found by a cross-field check. */
  problem(name: string, message: string): void {
    this.#problems.push(`${name}: ${message}`);
  }

  /** Throws {@link ConfigError} when any read failed. */
  done(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }
}

/** Settings every service shares: where NATS is, the namespace, logging, health port. */
export interface BaseConfig {
  /** Service name, used in logs, durable consumer names and DLQ subjects. */
  readonly service: string;
  /** NATS server URLs. */
  readonly natsServers: readonly string[];
  /**
   * NATS user and password (`HS_NATS_USER`, `HS_NATS_PASSWORD`); undefined
   * by default. A password needs a user; an empty password is sent when only
   * the user is set.
   */
  readonly natsUser: string | undefined;
  readonly natsPassword: string | undefined;
  /** NATS token (`HS_NATS_TOKEN`); undefined by default. */
  readonly natsToken: string | undefined;
  /**
   * Path of a NATS `.creds` file (`HS_NATS_CREDS`): a user JWT and its NKey
   * seed, for servers in operator (decentralized JWT) mode. Undefined by
   * default. Checked at start-up (readable, a user JWT for the seed's key,
   * not expired) and read again on every (re)connect, so a rotated file is
   * used from the next reconnect on.
   */
  readonly natsCredsFile: string | undefined;
  /**
   * Path of a file holding a user NKey seed, `SU...` (`HS_NATS_NKEY_SEED_FILE`),
   * for servers with `authorization { users: [{ nkey: U... }] }`. Undefined
   * by default. Checked at start-up and read again on every (re)connect.
   */
  readonly natsNkeySeedFile: string | undefined;
  /**
   * TLS towards NATS; undefined (the default) when no `HS_NATS_TLS_*`
   * variable is set and no URL is `tls://`: the client then still upgrades
   * to TLS when the server asks for it, trusting Node's default CAs. When
   * defined, a server without TLS is refused.
   */
  readonly natsTls: NatsTlsConfig | undefined;
  /**
   * Prefix for every stream, subject and bucket name. Empty in production;
   * tests and side-by-side deployments set it to stay isolated.
   */
  readonly namespace: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Port of the /healthz, /readyz server; 0 picks a free one. */
  readonly healthPort: number;
  readonly healthHost: string;
  /** Stream replicas (1 locally, 3 in production clusters). */
  readonly streamReplicas: number;
  /** Retention of HS_EVENTS in hours. */
  readonly eventsMaxAgeHours: number;
  /** Opens (and seals) secrets at rest; undefined without a master key. */
  readonly secretBox: SecretBox | undefined;
}

/**
 * TLS settings of the NATS connection (`HS_NATS_TLS_*`). The files are
 * checked at start-up and read again by the client on every (re)connect.
 */
export interface NatsTlsConfig {
  /** PEM CA bundle the server's certificate must chain to (`HS_NATS_TLS_CA`); undefined (default): Node's default CAs plus `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string | undefined;
  /** PEM client certificate (`HS_NATS_TLS_CERT`) for servers with `verify: true`; set with `keyFile` or not at all. Default undefined. */
  readonly certFile: string | undefined;
  /** PEM private key of `certFile` (`HS_NATS_TLS_KEY`), unencrypted. Default undefined. */
  readonly keyFile: string | undefined;
  /**
   * TLS handshake before the server's first byte (`HS_NATS_TLS_FIRST`,
   * default false); the server needs `tls { handshake_first: true }`.
   */
  readonly handshakeFirst: boolean;
}

/** The names of the variables {@link readBaseConfig} reads, for docs and errors. */
export const BASE_ENV = [
  'HS_NATS_URL',
  'HS_NATS_USER',
  'HS_NATS_PASSWORD',
  'HS_NATS_TOKEN',
  'HS_NATS_CREDS',
  'HS_NATS_NKEY_SEED_FILE',
  'HS_NATS_TLS_CA',
  'HS_NATS_TLS_CERT',
  'HS_NATS_TLS_KEY',
  'HS_NATS_TLS_FIRST',
  'HS_NAMESPACE',
  'HS_LOG_LEVEL',
  'HS_HEALTH_PORT',
  'HS_HEALTH_HOST',
  'HS_STREAM_REPLICAS',
  'HS_EVENTS_MAX_AGE_HOURS',
  'HS_MASTER_KEY',
  'HS_MASTER_KEYS',
  'HS_MASTER_KEY_ID',
] as const;

/**
 * Reads the settings every service shares. The caller reads its own settings
 * from the same reader and then calls `reader.done()`.
 */
export function readBaseConfig(reader: EnvReader, service: string, defaultHealthPort: number): BaseConfig {
  const namespace = reader.string('HS_NAMESPACE', '');
  if (namespace !== '' && !/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) {
    reader.problem('HS_NAMESPACE', 'letters, digits, "_" and "-" only, at most 32');
  }
  const natsServers = reader.list('HS_NATS_URL', ['nats://127.0.0.1:4222']);
  return {
    service,
    natsServers,
    ...readNatsAuth(reader),
    natsTls: readNatsTls(reader, natsServers),
    namespace,
    logLevel: reader.oneOf('HS_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    healthPort: reader.int('HS_HEALTH_PORT', defaultHealthPort, 0, 65535),
    healthHost: reader.string('HS_HEALTH_HOST', '0.0.0.0'),
    streamReplicas: reader.int('HS_STREAM_REPLICAS', 1, 1, 5),
    eventsMaxAgeHours: reader.int('HS_EVENTS_MAX_AGE_HOURS', 7 * 24, 1, 24 * 365),
    secretBox: reader.secretBox(),
  };
}

type NatsAuth = Pick<BaseConfig, 'natsUser' | 'natsPassword' | 'natsToken' | 'natsCredsFile' | 'natsNkeySeedFile'>;

/**
 * The NATS credentials. A connection authenticates one way, so:
 * 1. each file (`HS_NATS_CREDS`, `HS_NATS_NKEY_SEED_FILE`) must be readable
 *    and hold what its variable promises;
 * 2. a password needs a user;
 * 3. user/password, token, .creds file and NKey seed exclude each other.
 * Problems never quote a file's content or a secret.
 */
function readNatsAuth(reader: EnvReader): NatsAuth {
  const natsUser = reader.optionalString('HS_NATS_USER');
  const natsPassword = reader.optionalString('HS_NATS_PASSWORD');
  const natsToken = reader.optionalString('HS_NATS_TOKEN');
  const natsCredsFile = reader.optionalString('HS_NATS_CREDS');
  const natsNkeySeedFile = reader.optionalString('HS_NATS_NKEY_SEED_FILE');
  if (natsCredsFile !== undefined) checkCredsFile(reader, natsCredsFile);
  if (natsNkeySeedFile !== undefined) checkSeedFile(reader, natsNkeySeedFile);
  if (natsPassword !== undefined && natsUser === undefined) reader.problem('HS_NATS_PASSWORD', 'is set without HS_NATS_USER');
  const methods = [
    natsUser !== undefined ? 'HS_NATS_USER' : undefined,
    natsToken !== undefined ? 'HS_NATS_TOKEN' : undefined,
    natsCredsFile !== undefined ? 'HS_NATS_CREDS' : undefined,
    natsNkeySeedFile !== undefined ? 'HS_NATS_NKEY_SEED_FILE' : undefined,
  ].filter((m): m is string => m !== undefined);
  if (methods.length > 1) {
    reader.problem(
      methods.join(', '),
      'set only one: a NATS connection authenticates with a user and password, a token, a .creds file or an NKey seed',
    );
  }
  return { natsUser, natsPassword, natsToken, natsCredsFile, natsNkeySeedFile };
}

/**
 * TLS towards NATS:
 * 1. every URL is `nats://`, `tls://` or a bare host:port;
 * 2. each file is readable and holds PEM of the right kind; a client
 *    certificate and its key come together and must match;
 * 3. TLS is required (a defined {@link NatsTlsConfig}) when any
 *    `HS_NATS_TLS_*` is set or any URL is `tls://` (the Go client's rule:
 *    nats.js itself ignores the scheme).
 */
function readNatsTls(reader: EnvReader, servers: readonly string[]): NatsTlsConfig | undefined {
  let tlsUrl = false;
  for (const server of servers) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(server)?.[1]?.toLowerCase();
    if (scheme === 'tls') {
      tlsUrl = true;
    } else if (scheme !== undefined && scheme !== 'nats') {
      // Only the scheme is quoted: a URL may carry a user and password.
      reader.problem('HS_NATS_URL', `${scheme}:// is not supported (use nats:// or tls://)`);
    }
  }
  const caFile = reader.optionalString('HS_NATS_TLS_CA');
  const certFile = reader.optionalString('HS_NATS_TLS_CERT');
  const keyFile = reader.optionalString('HS_NATS_TLS_KEY');
  const handshakeFirst = reader.bool('HS_NATS_TLS_FIRST', false);
  if (caFile !== undefined) readCertificate(reader, 'HS_NATS_TLS_CA', caFile);
  const cert = certFile === undefined ? undefined : readCertificate(reader, 'HS_NATS_TLS_CERT', certFile);
  const key = keyFile === undefined ? undefined : readPrivateKey(reader, 'HS_NATS_TLS_KEY', keyFile);
  if (certFile !== undefined && keyFile === undefined) {
    reader.problem('HS_NATS_TLS_KEY', 'is required with HS_NATS_TLS_CERT (a client certificate needs its key)');
  }
  if (keyFile !== undefined && certFile === undefined) {
    reader.problem('HS_NATS_TLS_CERT', 'is required with HS_NATS_TLS_KEY (a client key needs its certificate)');
  }
  if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
    reader.problem('HS_NATS_TLS_KEY', `${keyFile} is not the key of the certificate in HS_NATS_TLS_CERT`);
  }
  if (!tlsUrl && !handshakeFirst && caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  return Object.freeze({ caFile, certFile, keyFile, handshakeFirst });
}

const READ_ERRORS: Readonly<Record<string, string>> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };

/** The file's bytes, or undefined after recording why it cannot be read. */
function readSetting(reader: EnvReader, name: string, path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    reader.problem(name, `cannot read ${path}: ${READ_ERRORS[code] ?? (err as Error).message}`);
    return undefined;
  }
}

/** The (first) certificate of a PEM file, or undefined after recording the problem. */
function readCertificate(reader: EnvReader, name: string, path: string): X509Certificate | undefined {
  const pem = readSetting(reader, name, path);
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    reader.problem(name, `${path} holds no PEM certificate`);
    return undefined;
  }
}

/** The private key of a PEM file, or undefined after recording the problem. */
function readPrivateKey(reader: EnvReader, name: string, path: string): KeyObject | undefined {
  const pem = readSetting(reader, name, path);
  if (pem === undefined) return undefined;
  try {
    return createPrivateKey(pem);
  } catch {
    // Encrypted keys land here too: the NATS client cannot take a passphrase.
    reader.problem(name, `${path} holds no unencrypted PEM private key`);
    return undefined;
  }
}

const SEED_KINDS: Readonly<Record<string, string>> = { O: 'an operator', A: 'an account', S: 'a server', C: 'a cluster', X: 'a curve' };

/** Problems with an NKey user seed (trimmed text), or undefined when it is one; never quotes the seed. */
function seedProblem(seed: string): string | undefined {
  if (/^U[A-Z2-7]{55}$/.test(seed)) return 'holds a public user key (U...), not its seed (SU...)';
  if (!seed.startsWith('SU')) {
    const kind = seed.startsWith('S') ? SEED_KINDS[seed.charAt(1)] : undefined;
    return kind !== undefined
      ? `holds ${kind} seed, not a user seed (SU...)`
      : 'holds no NKey user seed (expected one line starting with SU)';
  }
  try {
    nkeys.fromSeed(new TextEncoder().encode(seed));
    return undefined;
  } catch {
    return 'holds no valid NKey user seed (SU... with a bad checksum or length)';
  }
}

function checkSeedFile(reader: EnvReader, path: string): void {
  const bytes = readSetting(reader, 'HS_NATS_NKEY_SEED_FILE', path);
  if (bytes === undefined) return;
  const problem = seedProblem(bytes.toString('utf8').trim());
  if (problem !== undefined) reader.problem('HS_NATS_NKEY_SEED_FILE', `${path} ${problem}`);
}

function checkCredsFile(reader: EnvReader, path: string): void {
  const bytes = readSetting(reader, 'HS_NATS_CREDS', path);
  if (bytes === undefined) return;
  const problem = credsProblem(bytes);
  if (problem !== undefined) reader.problem('HS_NATS_CREDS', `${path} ${problem}`);
}

/**
 * Problems with a .creds file, or undefined when it is good: it parses as
 * nats.js parses it (a JWT block, then a seed block), its seed is a user's,
 * and the JWT is a user JWT issued to that seed's key that has not expired.
 * Never quotes the file.
 */
function credsProblem(bytes: Buffer): string | undefined {
  let auth: { jwt?: string; nkey?: string };
  try {
    // Without a nonce the authenticator only parses the file and derives the public key.
    auth = credsAuthenticator(new Uint8Array(bytes))() as { jwt?: string; nkey?: string };
  } catch {
    return 'is not a valid NATS .creds file (a "BEGIN NATS USER JWT" block, then a "BEGIN USER NKEY SEED" block with a valid seed)';
  }
  if (auth.nkey === undefined || !auth.nkey.startsWith('U')) return 'holds no user NKey seed (SU...)';
  let claims: { sub?: unknown; exp?: unknown; nats?: { type?: unknown } };
  try {
    claims = JSON.parse(Buffer.from(auth.jwt?.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return 'holds no readable JWT';
  }
  if (claims.nats?.type !== undefined && claims.nats.type !== 'user')
    return `holds a JWT of type ${JSON.stringify(claims.nats.type)}, not a user JWT`;
  if (claims.sub !== auth.nkey) return "holds a JWT issued to another key than the file's seed";
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    return `holds a user JWT that expired at ${new Date(claims.exp * 1000).toISOString()}`;
  }
  return undefined;
}

/**
 * Builds a {@link SecretBox} from the environment: `HS_MASTER_KEY` (base64 of
 * 32 bytes, id `k1`), or `HS_MASTER_KEYS` (`id:base64,id:base64`) with
 * `HS_MASTER_KEY_ID` naming the current one. Undefined when neither is set
 * (secrets are then stored and read as given). Throws ConfigError.
 */
export function secretBoxFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): SecretBox | undefined {
  const keys = new Map<string, Buffer>();
  if (env.HS_MASTER_KEYS) {
    for (const item of env.HS_MASTER_KEYS.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      const colon = item.indexOf(':');
      if (colon <= 0) throw new ConfigError(['HS_MASTER_KEYS: expected id:base64key, comma-separated']);
      keys.set(item.slice(0, colon), Buffer.from(item.slice(colon + 1), 'base64'));
    }
  } else if (env.HS_MASTER_KEY) {
    keys.set('k1', Buffer.from(env.HS_MASTER_KEY, 'base64'));
  }
  if (keys.size === 0) return undefined;
  try {
    return new SecretBox(keys, env.HS_MASTER_KEY_ID ?? [...keys.keys()].at(-1) ?? 'k1');
  } catch (err) {
    if (err instanceof SecretBoxError) throw new ConfigError([err.message]);
    throw err;
  }
}
