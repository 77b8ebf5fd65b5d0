import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@hookstream/runtime';
import type { SqlRunner } from './client.ts';

/** `deploy/clickhouse/migrations` in this repository (and in the image, which copies the repo layout). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../deploy/clickhouse/migrations/', import.meta.url));

/** One versioned migration file, `NNNN_name.sql`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, `{database}` already replaced, in file order. */
  readonly statements: readonly string[];
  /**
   * The oldest ClickHouse (major, minor) that runs it, from a `-- requires: X.Y`
   * line in the file; absent when every supported version does.
   */
  readonly requires?: readonly [number, number];
}

/** A migration file is misnamed, or two share a version. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const REQUIRES = /^--\s*requires:\s*(\d+)\.(\d+)\s*$/m;

/**
 * Splits a migration file into statements: `--` comment lines are dropped and
 * statements end at a `;` at the end of a line. (The files contain no `;`
 * inside string literals; keep it that way.)
 */
export function splitStatements(sql: string): string[] {
  const text = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return text
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Reads every `NNNN_name.sql` in `dir`, in version order, with `{database}`
 * replaced by `database`. Throws {@link MigrationError} on a file that does
 * not follow the naming rule or a repeated version.
 */
export function loadMigrations(dir: string, database: string): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE.exec(file);
    if (m === null) throw new MigrationError(`${file}: migration files are named NNNN_lower_snake.sql`);
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new MigrationError(`${file}: version ${version} is used twice`);
    const sql = readFileSync(join(dir, file), 'utf8').replaceAll('{database}', database);
    const req = REQUIRES.exec(sql);
    const requires = req === null ? undefined : ([Number(req[1]), Number(req[2])] as const);
    out.push({ version, name: m[2] as string, statements: splitStatements(sql), ...(requires === undefined ? {} : { requires }) });
  }
  return out;
}

/** Whether server version `version` ("18.16.1", "24.3.2.23") is at least `min`. Pure. */
export function versionAtLeast(version: string, min: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

// 18.16 has no `ADD COLUMN IF NOT EXISTS`: a re-run `ADD COLUMN` fails with
// "column with this name already exists" (code 44), which means it is done.
function alreadyAdded(statement: string, err: unknown): boolean {
  return /\bADD\s+COLUMN\b/i.test(statement) && err instanceof Error && /already exists/i.test(err.message);
}

/**
 * Brings the database up to date: creates it and `hs_migrations` (version,
 * name, applied_at) if missing, then runs each migration whose version is not
 * recorded, in order, and records it. Idempotent: every statement in the
 * files is `CREATE … IF NOT EXISTS` or `DROP … IF EXISTS` (0003 replaces
 * 0002's materialized views by plain views of the same names), so a run
 * interrupted half-way (or two replicas starting at once) repeats
 * harmlessly, and `hs_migrations` is a
 * ReplacingMergeTree on version, so a version recorded twice collapses.
 * `ALTER … ADD COLUMN` is not idempotent on 18.16, so a column that
 * already exists counts as added. A migration that `requires` a newer server
 * than the one connected is skipped with a logged note and not recorded: it
 * applies on the first run after the server is upgraded.
 * Resolves with the versions it applied; throws ClickHouse's error.
 */
export async function applyMigrations(
  sql: SqlRunner,
  database: string,
  migrations: readonly Migration[],
  logger?: Logger,
): Promise<number[]> {
  await sql.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
  await sql.command(
    `CREATE TABLE IF NOT EXISTS ${database}.hs_migrations (version UInt32, name String, applied_at DateTime) ` +
      'ENGINE = ReplacingMergeTree() ORDER BY version',
  );
  const done = new Set(
    (await sql.select<{ version: number }>(`SELECT DISTINCT version FROM ${database}.hs_migrations`)).map((r) => r.version),
  );
  const applied: number[] = [];
  let server: string | undefined;
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    if (m.requires !== undefined) {
      server ??= (await sql.select<{ v: string }>('SELECT version() AS v'))[0]?.v ?? '0.0';
      if (!versionAtLeast(server, m.requires)) {
        logger?.warn(
          { version: m.version, name: m.name, server, requires: m.requires.join('.') },
          'clickhouse migration skipped: the server is too old for it (see docs/analytics.md for the manual equivalent)',
        );
        continue;
      }
    }
    for (const statement of m.statements) {
      try {
        await sql.command(statement);
      } catch (err) {
        if (!alreadyAdded(statement, err)) throw err;
      }
    }
    await sql.command(`INSERT INTO ${database}.hs_migrations (version, name, applied_at) VALUES (${m.version}, '${m.name}', now())`);
    applied.push(m.version);
    logger?.info({ version: m.version, name: m.name }, 'clickhouse migration applied');
  }
  return applied;
}
