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
}

/** A migration file is misnamed, or two share a version. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

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
    out.push({ version, name: m[2] as string, statements: splitStatements(sql) });
  }
  return out;
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
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await sql.command(statement);
    await sql.command(`INSERT INTO ${database}.hs_migrations (version, name, applied_at) VALUES (${m.version}, '${m.name}', now())`);
    applied.push(m.version);
    logger?.info({ version: m.version, name: m.name }, 'clickhouse migration applied');
  }
  return applied;
}
