import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BaseConfig, EnvReader, readBaseConfig } from '@hookstream/runtime';
import { type Principal, parseUsersFile, tokenDigest } from './console/users.ts';

/** Where the console is served from unless HS_CONSOLE_DIR says: packages/console/dist (resolved, not loaded). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../dist/', import.meta.resolve('@hookstream/console')));

/** The web console's settings (docs/console.md). */
export interface ConsoleConfig {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** The built single-page app. */
  readonly root: string;
  /** The control token's holder (user `admin`) and the users of HS_CONSOLE_USERS_FILE. */
  readonly principals: readonly Principal[];
}

/** Everything the control service needs, resolved and frozen. */
export interface ControlConfig extends BaseConfig {
  /** gRPC listen address; port 0 picks a free one (tests). */
  readonly host: string;
  readonly port: number;
  /** The bearer token every RPC must carry; undefined only when `insecure`. */
  readonly token: string | undefined;
  /** Serve without a token (`HS_CONTROL_INSECURE=true`): local development only. */
  readonly insecure: boolean;
  /** PEM certificate chain and key for TLS; plaintext gRPC when absent. */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** How long the secrets already there stay valid after a rotation, by default. */
  readonly rotationGraceMs: number;
  /** Dead-letter and event replays per second when a request does not say. */
  readonly replayPerSecond: number;
  /** ClickHouse for GetEvent's delivery attempts (`HS_CLICKHOUSE_*`); undefined: attempts are not shown. */
  readonly clickhouse: { readonly url: string; readonly database: string; readonly user: string; readonly password: string } | undefined;
  /** The web console; undefined when HS_CONSOLE_ENABLED=false or nobody could sign in (no token, no users file). */
  readonly console: ConsoleConfig | undefined;
  /** Largest `config_json` / `schema_json` in bytes (`HS_CONTROL_MAX_CONFIG_BYTES`); at most half the server's max_payload. */
  readonly maxConfigBytes: number;
  /** Deepest nesting of objects and arrays in them (`HS_CONTROL_MAX_CONFIG_DEPTH`). */
  readonly maxConfigDepth: number;
}

/** Default of HS_CONTROL_MAX_CONFIG_BYTES: 256 KiB, far above any real config, well inside NATS's 1 MiB max_payload. */
export const DEFAULT_MAX_CONFIG_BYTES = 256 * 1024;
/** Default of HS_CONTROL_MAX_CONFIG_DEPTH. */
export const DEFAULT_MAX_CONFIG_DEPTH = 32;

function readPem(r: EnvReader, name: string): Buffer | undefined {
  const path = r.optionalString(name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    r.problem(name, `cannot read ${path}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Compiles the environment into a {@link ControlConfig}. Throws ConfigError
 * naming every bad variable; in particular a missing `HS_CONTROL_TOKEN`
 * without `HS_CONTROL_INSECURE=true` (the API writes secrets: it never
 * serves unauthenticated by accident).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ControlConfig {
  const r = new EnvReader(env);
  const base = readBaseConfig(r, 'control', 9107);
  const token = r.optionalString('HS_CONTROL_TOKEN');
  const insecure = r.bool('HS_CONTROL_INSECURE', false);
  if (token === undefined && !insecure) {
    r.problem('HS_CONTROL_TOKEN', 'required (or set HS_CONTROL_INSECURE=true to serve without authentication)');
  }
  if (token !== undefined && token.length < 16) r.problem('HS_CONTROL_TOKEN', 'must be at least 16 characters');
  const cert = readPem(r, 'HS_CONTROL_TLS_CERT');
  const key = readPem(r, 'HS_CONTROL_TLS_KEY');
  if ((env.HS_CONTROL_TLS_CERT ? 1 : 0) + (env.HS_CONTROL_TLS_KEY ? 1 : 0) === 1) {
    r.problem('HS_CONTROL_TLS_CERT', 'HS_CONTROL_TLS_CERT and HS_CONTROL_TLS_KEY go together');
  }
  const clickhouseUrl = r.optionalString('HS_CLICKHOUSE_URL');
  if (clickhouseUrl !== undefined && !/^https?:\/\//.test(clickhouseUrl)) {
    r.problem('HS_CLICKHOUSE_URL', `expected an http(s) URL, got ${JSON.stringify(clickhouseUrl)}`);
  }
  const database = r.string('HS_CLICKHOUSE_DATABASE', 'hookstream');
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(database)) r.problem('HS_CLICKHOUSE_DATABASE', 'letters, digits and "_" only');
  const clickhouse =
    clickhouseUrl === undefined
      ? undefined
      : Object.freeze({
          url: clickhouseUrl,
          database,
          user: r.string('HS_CLICKHOUSE_USER', 'default'),
          password: r.string('HS_CLICKHOUSE_PASSWORD', ''),
        });
  const consoleConfig = readConsoleConfig(r, token);
  const config: ControlConfig = {
    ...base,
    host: r.string('HS_CONTROL_HOST', '0.0.0.0'),
    port: r.int('HS_CONTROL_PORT', 50051, 0, 65535),
    token,
    insecure,
    tls: cert !== undefined && key !== undefined ? Object.freeze({ cert, key }) : undefined,
    rotationGraceMs: r.int('HS_CONTROL_ROTATION_GRACE_MS', 24 * 3_600_000, 0, 365 * 24 * 3_600_000),
    replayPerSecond: r.int('HS_CONTROL_REPLAY_PER_SECOND', 100, 1, 100_000),
    clickhouse,
    console: consoleConfig,
    maxConfigBytes: r.int('HS_CONTROL_MAX_CONFIG_BYTES', DEFAULT_MAX_CONFIG_BYTES, 1_024, 64 * 1024 * 1024),
    maxConfigDepth: r.int('HS_CONTROL_MAX_CONFIG_DEPTH', DEFAULT_MAX_CONFIG_DEPTH, 4, 1_000),
  };
  r.done();
  return Object.freeze(config);
}

function readConsoleConfig(r: EnvReader, token: string | undefined): ConsoleConfig | undefined {
  const enabled = r.bool('HS_CONSOLE_ENABLED', true);
  const host = r.string('HS_CONSOLE_HOST', r.string('HS_CONTROL_HOST', '0.0.0.0'));
  const port = r.int('HS_CONSOLE_PORT', 8090, 0, 65535);
  const root = r.string('HS_CONSOLE_DIR', DEFAULT_CONSOLE_DIR);
  const usersFile = r.optionalString('HS_CONSOLE_USERS_FILE');
  if (!enabled) return undefined;
  const principals: Principal[] = [];
  if (token !== undefined) principals.push({ user: 'admin', role: 'admin', tokenSha256: tokenDigest(token) });
  if (usersFile !== undefined) {
    try {
      for (const p of parseUsersFile(readFileSync(usersFile, 'utf8'))) {
        if (p.user === 'admin' && token !== undefined) r.problem('HS_CONSOLE_USERS_FILE', 'the user name "admin" is the control token\'s');
        else principals.push(p);
      }
    } catch (err) {
      r.problem('HS_CONSOLE_USERS_FILE', `${usersFile}: ${(err as Error).message}`);
    }
  }
  // No token at all (HS_CONTROL_INSECURE=true without a users file): the console stays off, it never serves data unauthenticated.
  if (principals.length === 0) return undefined;
  return Object.freeze({ host, port, root, principals: Object.freeze(principals) });
}
