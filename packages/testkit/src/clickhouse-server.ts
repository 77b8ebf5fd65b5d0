import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary } from './binaries.ts';
import { freePort } from './ports.ts';

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
  readonly #binary: string;
  readonly #options: ClickHouseServerOptions;
  #child: ChildProcess | undefined;
  #output = '';

  private constructor(binary: string, httpPort: number, tcpPort: number, dataDir: string, options: ClickHouseServerOptions) {
    this.#binary = binary;
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
    return this.running ? this.#child?.pid : undefined;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
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

  async #spawn(): Promise<void> {
    this.#output = '';
    const child = spawn(this.#binary, [`--config-file=${join(this.dataDir, 'etc', 'config.xml')}`], {
      cwd: this.dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const collect = (chunk: Buffer): void => {
      if (this.#output.length < 64_000) this.#output += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`clickhouse-server exited during start-up:\n${this.#output}${this.#errorLog()}`);
      if (await this.ping()) return;
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(`clickhouse-server did not answer /ping within the time limit:\n${this.#output}${this.#errorLog()}`);
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
    await this.#signal('SIGKILL');
  }

  /** Stops gracefully (SIGTERM) and keeps the data. Resolves when the process is gone. */
  async stopProcess(): Promise<void> {
    await this.#signal('SIGTERM');
  }

  /** Starts again on the same ports and data (after kill or stopProcess); resolves once `/ping` answers. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.#spawn();
  }

  /** Stops the server and removes its data directory. Never throws. */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM').catch(() => undefined);
    if (!this.#options.keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** What the server printed since its last start. */
  output(): string {
    return this.#output;
  }

  #errorLog(): string {
    try {
      return `\n${readFileSync(join(this.dataDir, 'log', 'clickhouse-server.err.log'), 'utf8').slice(-4_000)}`;
    } catch {
      return '';
    }
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    // ClickHouse waits for running queries on SIGTERM; never longer than this.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Shorthand for {@link ClickHouseServer.start}. */
export function startClickHouse(options?: ClickHouseServerOptions): Promise<ClickHouseServer> {
  return ClickHouseServer.start(options);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
