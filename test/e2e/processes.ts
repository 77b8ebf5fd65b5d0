import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttpOk } from '@hookstream/testkit';

/** A service started from its production entry point. */
export interface ServiceProcess {
  readonly name: string;
  readonly healthPort: number;
  readonly child: ChildProcess;
  /** SIGTERM, and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, and wait until gone. */
  kill(): Promise<void>;
}

/**
 * Starts `services/{name}/src/main.ts` as its own process with `env`, and
 * resolves once its /readyz answers 200. Its stderr goes to the test's.
 * `root`: another checkout of hookstream to run the service from (a
 * benchmark's "before"); default this one. `nodeArgs` go before the entry
 * point (e.g. `--cpu-prof`).
 */
export async function startService(
  name: string,
  env: Record<string, string>,
  options: { root?: string; nodeArgs?: readonly string[] } = {},
): Promise<ServiceProcess> {
  const healthPort = await freePort();
  const main =
    options.root !== undefined
      ? join(options.root, 'services', name, 'src', 'main.ts')
      : fileURLToPath(new URL(`../../services/${name}/src/main.ts`, import.meta.url));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), main], {
    env: { ...process.env, HS_LOG_LEVEL: 'warn', ...env, HS_HEALTH_PORT: String(healthPort), HS_HEALTH_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const handle = serviceProcess(name, healthPort, child);
  await waitForHttpOk(healthPort, '/readyz');
  return handle;
}

/** A {@link ServiceProcess} for a started child (its stop and kill wait for the exit). */
export function serviceProcess(name: string, healthPort: number, child: ChildProcess): ServiceProcess {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    healthPort,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
