import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';

/** A row as it is sent to ClickHouse (JSONEachRow): column name to value. */
export type Row = Readonly<Record<string, string | number | null>>;

/** Where a table's rows go and the first column of its sorting key (used to find rows already stored). */
export interface TableSpec {
  readonly name: string;
  readonly groupColumn: string;
}

/** Where the sink writes rows. The ClickHouse one is {@link ClickHouseRowStore}; tests may fake it. */
export interface RowStore {
  /**
   * Inserts `rows` into `table` in one INSERT, sent with `queryId` as its
   * query id when given. Resolves once ClickHouse accepted them; throws otherwise (which
   * does not mean they were not stored: a timeout may leave the INSERT
   * running on the server).
   */
  insert(table: TableSpec, rows: readonly Row[], queryId?: string): Promise<void>;
  /** The `row_id`s of `rows` that `table` already holds. Throws when ClickHouse cannot answer. */
  existingIds(table: TableSpec, rows: readonly (Row & { readonly row_id: string; readonly at: number })[]): Promise<Set<string>>;
  /** Which of `queryIds` ClickHouse is still running (`system.processes`). Throws when it cannot answer. */
  running(queryIds: readonly string[]): Promise<Set<string>>;
}

/** Runs SQL statements (migrations, analyst queries). */
export interface SqlRunner {
  /** Runs a statement that returns no rows. */
  command(sql: string): Promise<void>;
  /** Runs a SELECT and resolves with its rows (64-bit integers as numbers). */
  select<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

/** How to reach ClickHouse. */
export interface ClickHouseOptions {
  readonly url: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Per-request deadline (ms). */
  readonly requestTimeoutMs: number;
}

/** Escapes a string as a ClickHouse single-quoted literal (backslash and quote escaped). */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A ClickHouse identifier hookstream accepts for a database name: letters,
 * digits and `_`, not starting with a digit. Names are spliced into SQL, so
 * nothing else is allowed.
 */
export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

// ClickHouse's default max_query_size is 256 KiB; an IN list of this many
// (group, row_id) pairs stays well under it.
const EXISTING_CHUNK = 500;

/**
 * {@link RowStore} and {@link SqlRunner} over `@clickhouse/client` (HTTP,
 * JSONEachRow). Works with ClickHouse 18.16 and current releases: it sends no
 * query parameters (18.16 has none; values are quoted with {@link quote}) and
 * asks for 64-bit integers unquoted in JSON output
 * (`output_format_json_quote_64bit_integers=0`, known to both).
 */
export class ClickHouseRowStore implements RowStore, SqlRunner {
  readonly client: ClickHouseClient;
  readonly database: string;

  constructor(options: ClickHouseOptions) {
    if (!DATABASE_NAME.test(options.database)) throw new Error(`invalid ClickHouse database name ${JSON.stringify(options.database)}`);
    this.database = options.database;
    this.client = createClient({
      url: options.url,
      username: options.user,
      password: options.password,
      request_timeout: options.requestTimeoutMs,
      // The sink logs failures itself, once per batch, with context.
      log: { level: ClickHouseLogLevel.OFF },
      // Debian's server config closes idle keep-alive sockets after 3 s; a shorter
      // client-side TTL avoids writing into a socket the server just closed.
      keep_alive: { enabled: true, idle_socket_ttl: 2_000 },
    });
  }

  async insert(table: TableSpec, rows: readonly Row[], queryId?: string): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({
      table: `${this.database}.${table.name}`,
      values: rows as Row[],
      format: 'JSONEachRow',
      ...(queryId !== undefined ? { query_id: queryId } : {}),
    });
  }

  async running(queryIds: readonly string[]): Promise<Set<string>> {
    if (queryIds.length === 0) return new Set();
    const rows = await this.select<{ query_id: string }>(
      `SELECT query_id FROM system.processes WHERE query_id IN (${queryIds.map((id) => quote(id)).join(', ')})`,
    );
    return new Set(rows.map((r) => r.query_id));
  }

  async existingIds(table: TableSpec, rows: readonly (Row & { readonly row_id: string; readonly at: number })[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let start = 0; start < rows.length; start += EXISTING_CHUNK) {
      const chunk = rows.slice(start, start + EXISTING_CHUNK);
      let minAt = Number.POSITIVE_INFINITY;
      let maxAt = 0;
      const pairs: string[] = [];
      for (const r of chunk) {
        minAt = Math.min(minAt, r.at);
        maxAt = Math.max(maxAt, r.at);
        pairs.push(`(${quote(String(r[table.groupColumn] ?? ''))}, ${quote(r.row_id)})`);
      }
      // The time bounds prune partitions; the pair list hits the sorting key.
      const sql =
        `SELECT row_id FROM ${this.database}.${table.name} ` +
        `WHERE dt >= toDateTime(${Math.floor(minAt / 1000)}) AND dt <= toDateTime(${Math.floor(maxAt / 1000)}) ` +
        `AND (${table.groupColumn}, row_id) IN (${pairs.join(', ')})`;
      for (const r of await this.select<{ row_id: string }>(sql)) found.add(r.row_id);
    }
    return found;
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  async select<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const result = await this.client.query({
      query: sql,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return result.json<T>();
  }

  /** Whether `/ping` answers now. Never throws. */
  async ping(): Promise<boolean> {
    return (await this.client.ping()).success;
  }

  /** Closes the HTTP agent's sockets. */
  close(): Promise<void> {
    return this.client.close();
  }
}
