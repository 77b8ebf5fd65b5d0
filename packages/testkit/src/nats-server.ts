import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServer } from './binaries.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './server-process.ts';

/** Options for {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Keep the store directory after stop (for debugging). */
  readonly keepStore?: boolean;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** How long to wait for the server to accept connections (ms). */
  readonly startTimeoutMs?: number;
  /** The server's `max_payload` in bytes (nats-server's default: 1 MiB), set through a config file. */
  readonly maxPayload?: number;
  /**
   * JetStream's `sync_interval`: `always` (the default here, as in the local
   * stack and the recommended production config) fsyncs every write before
   * the PubAck; a duration such as `2m` is nats-server's own default.
   */
  readonly syncInterval?: string;
  /** Lines appended to the server's config file as they are (`tls { ... }`, `authorization { ... }`, operator mode). */
  readonly extraConfig?: string;
}

/**
 * A real `nats-server -js` on a free loopback port with a temporary store.
 * Can be killed with SIGKILL and restarted on the same port and store, for
 * fault tests.
 */
export class NatsServer {
  readonly port: number;
  readonly storeDir: string;
  readonly #options: NatsServerOptions;
  readonly #process: ServerProcess;

  private constructor(binary: string, port: number, storeDir: string, options: NatsServerOptions) {
    this.port = port;
    this.storeDir = storeDir;
    this.#options = options;
    // sync_interval and max_payload have no command-line flags; flags given after -c still win.
    const file = join(storeDir, 'hs-test.conf');
    const lines = [`jetstream { store_dir: ${JSON.stringify(storeDir)}, sync_interval: ${options.syncInterval ?? 'always'} }`];
    if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
    if (options.extraConfig !== undefined) lines.push(options.extraConfig);
    writeFileSync(file, `${lines.join('\n')}\n`);
    this.#process = new ServerProcess('nats-server', binary, [
      '-c',
      file,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-n',
      `hs-test-${port}`,
      ...(options.args ?? []),
    ]);
  }

  /** `nats://127.0.0.1:{port}` */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The server's process id while it runs (to pin it to a core in benchmarks). */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#process.running;
  }

  /** Creates and starts a server. Throws MissingBinaryError when no supported nats-server (>= 2.11) is installed. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const binary = findNatsServer().path;
    const port = await freePort();
    const storeDir = mkdtempSync(join(tmpdir(), 'hs-nats-'));
    const server = new NatsServer(binary, port, storeDir, options);
    await server.#spawn();
    return server;
  }

  // JetStream is ready once the server says so; the port opens a moment before.
  #spawn(): Promise<void> {
    return this.#process.start(
      async () => this.#process.output().includes('Server is ready') && (await canConnect(this.port)),
      this.#options.startTimeoutMs ?? 15_000,
    );
  }

  /** Stops with SIGKILL: no flush, no goodbye (a crash). Resolves when the process is gone. */
  async kill(): Promise<void> {
    await this.#process.signal('SIGKILL');
  }

  /** Stops gracefully (SIGTERM). */
  async stopProcess(): Promise<void> {
    await this.#process.signal('SIGTERM');
  }

  /** Starts again on the same port and store (after kill or stopProcess). */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.#spawn();
  }

  /** Stops the server and removes its store. Never throws. */
  async stop(): Promise<void> {
    await this.#process.signal('SIGTERM').catch(() => undefined);
    if (!this.#options.keepStore) rmSync(this.storeDir, { recursive: true, force: true });
  }

  /** What the server printed since its last start. */
  output(): string {
    return this.#process.output();
  }
}

/** Shorthand for {@link NatsServer.start}. */
export function startNatsServer(options?: NatsServerOptions): Promise<NatsServer> {
  return NatsServer.start(options);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
