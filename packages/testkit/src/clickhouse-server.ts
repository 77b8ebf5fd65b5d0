import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary } from './binaries.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './server-process.ts';

/** Options for {@link startClickHouse}. */
export interface ClickHouseServerOptions {
  /** Keep the data directory after stop (for debugging). */
  readonly keepData?: boolean;
  /** How long to wait for `/ping` to answer (ms). */
  readonly startTimeoutMs?: number;
}

// The same config `make up` uses (scripts/clickhouse-local.sh), so the tests
// run against the server setup a developer runs.
const LOCAL_CONFIG_DIR = fileURLToPath(new URL('../../../deploy/clickhouse/local/', import.meta.url));

/**
 * A real `clickhouse-server` on free loopback HTTP and TCP ports with a
 * temporary data directory, configured from `deploy/clickhouse/local`. Can be
 * stopped or killed and restarted on the same ports and data, for outage tests.
 */
export class ClickHouseServer {
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly dataDir: string;
  readonly #options: ClickHouseServerOptions;
  readonly #process: ServerProcess;

  private constructor(binary: string, httpPort: number, tcpPort: number, dataDir: string, options: ClickHouseServerOptions) {
    // ClickHouse waits for running queries on SIGTERM; never longer than 15 s.
    this.#process = new ServerProcess('clickhouse-server', binary, [`--config-file=${join(dataDir, 'etc', 'config.xml')}`], {
      cwd: dataDir,
      killAfterMs: 15_000,
    });
    this.httpPort = httpPort;
    this.tcpPort = tcpPort;
    this.dataDir = dataDir;
    this.#options = options;
  }

  /** `http://127.0.0.1:{httpPort}` */
  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#process.running;
  }

  /**
   * Writes the config, starts the server and resolves once `/ping` answers.
   * Throws MissingBinaryError when clickhouse-server is not installed, or an
   * Error with the server's output when it exits or does not come up.
   */
  static async start(options: ClickHouseServerOptions = {}): Promise<ClickHouseServer> {
    const binary = findBinary('clickhouse-server', 'clickhouse-server');
    const httpPort = await freePort();
    let tcpPort = await freePort();
    while (tcpPort === httpPort) tcpPort = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'hs-clickhouse-'));
    for (const dir of ['log', 'tmp', 'user_files', 'format_schemas', 'etc']) mkdirSync(join(dataDir, dir), { recursive: true });
    const config = readFileSync(join(LOCAL_CONFIG_DIR, 'config.xml.tmpl'), 'utf8')
      .replaceAll('@DATA@', dataDir)
      .replaceAll('@HTTP_PORT@', String(httpPort))
      .replaceAll('@TCP_PORT@', String(tcpPort));
    writeFileSync(join(dataDir, 'etc', 'config.xml'), config);
    copyFileSync(join(LOCAL_CONFIG_DIR, 'users.xml'), join(dataDir, 'etc', 'users.xml'));
    const server = new ClickHouseServer(binary, httpPort, tcpPort, dataDir, options);
    await server.#spawn();
    return server;
  }

  #spawn(): Promise<void> {
    return this.#process.start(
      () => this.ping(),
      this.#options.startTimeoutMs ?? 30_000,
      () => this.#errorLog(),
    );
  }

  /** Whether `GET /ping` answers `Ok.` now. Never throws. */
  async ping(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(1_000) });
      return res.ok && (await res.text()).startsWith('Ok');
    } catch {
      return false;
    }
  }

  /**
   * Runs one SQL statement over HTTP and resolves with the response body;
   * throws an Error with ClickHouse's message on a non-200 answer. For test
   * set-up and assertions.
   */
  async query(sql: string): Promise<string> {
    const res = await fetch(`${this.url}/`, { method: 'POST', body: sql });
    const text = await res.text();
    if (!res.ok) throw new Error(`ClickHouse answered ${res.status}: ${text.trim()}`);
    return text;
  }

  /** Stops with SIGKILL (a crash). Resolves when the process is gone. */
  async kill(): Promise<void> {
    await this.#process.signal('SIGKILL');
  }

  /** Stops gracefully (SIGTERM) and keeps the data. Resolves when the process is gone. */
  async stopProcess(): Promise<void> {
    await this.#process.signal('SIGTERM');
  }

  /** Starts again on the same ports and data (after kill or stopProcess); resolves once `/ping` answers. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.#spawn();
  }

  /** Stops the server and removes its data directory. Never throws. */
  async stop(): Promise<void> {
    await this.#process.signal('SIGTERM').catch(() => undefined);
    if (!this.#options.keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** What the server printed since its last start. */
  output(): string {
    return this.#process.output();
  }

  #errorLog(): string {
    try {
      return `\n${readFileSync(join(this.dataDir, 'log', 'clickhouse-server.err.log'), 'utf8').slice(-4_000)}`;
    } catch {
      return '';
    }
  }
}

/** Shorthand for {@link ClickHouseServer.start}. */
export function startClickHouse(options?: ClickHouseServerOptions): Promise<ClickHouseServer> {
  return ClickHouseServer.start(options);
}
