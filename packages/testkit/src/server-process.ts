import { type ChildProcess, spawn } from 'node:child_process';

/**
 * One child process of a server the tests run (nats-server, ClickHouse):
 * started, watched until ready, signalled and restarted with the same
 * command. Collects what it prints (first 64 KB) for error messages.
 */
export class ServerProcess {
  readonly #name: string;
  readonly #binary: string;
  readonly #args: readonly string[];
  readonly #cwd: string | undefined;
  /** How long a SIGTERM'ed process gets before SIGKILL. */
  readonly #killAfterMs: number;
  #child: ChildProcess | undefined;
  #output = '';

  constructor(name: string, binary: string, args: readonly string[], options: { cwd?: string; killAfterMs?: number } = {}) {
    this.#name = name;
    this.#binary = binary;
    this.#args = args;
    this.#cwd = options.cwd;
    this.#killAfterMs = options.killAfterMs ?? 10_000;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** What the process printed since its last start. */
  output(): string {
    return this.#output;
  }

  /**
   * Starts the process and polls `ready` until it answers true. Throws an
   * Error with the output (and `extra()`) when the process exits first or
   * `timeoutMs` passes (the process is then killed).
   */
  async start(ready: () => Promise<boolean> | boolean, timeoutMs: number, extra: () => string = () => ''): Promise<void> {
    this.#output = '';
    const child = spawn(this.#binary, [...this.#args], { stdio: ['ignore', 'pipe', 'pipe'], ...(this.#cwd ? { cwd: this.#cwd } : {}) });
    this.#child = child;
    const collect = (chunk: Buffer): void => {
      if (this.#output.length < 64_000) this.#output += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.#name} exited during start-up:\n${this.#output}${extra()}`);
      if (await ready()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill('SIGKILL');
    throw new Error(`${this.#name} did not become ready within ${timeoutMs} ms:\n${this.#output}${extra()}`);
  }

  /** Sends `signal` (SIGKILL after the grace period) and resolves when the process is gone. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), this.#killAfterMs);
    await exited;
    clearTimeout(timer);
  }
}
