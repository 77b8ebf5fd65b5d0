import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@hookstream/testkit';
import { type ServiceProcess, serviceProcess } from '../../test/e2e/processes.ts';

/**
 * Starts bench/floor/gateway.ts as its own process with `env` (FLOOR_*), and
 * resolves once it prints "floor ready". Its stderr goes to the bench's. The
 * floor has no health server: `healthPort` is a free port nothing answers on.
 */
export async function startFloor(env: Record<string, string>): Promise<ServiceProcess> {
  const main = fileURLToPath(new URL('./gateway.ts', import.meta.url));
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const ready = (async () => {
    for await (const line of lines) if (line === 'floor ready') return;
    throw new Error('the floor gateway exited before it was ready');
  })();
  await Promise.race([ready, once(child, 'exit').then(() => Promise.reject(new Error('the floor gateway exited')))]);
  return serviceProcess('floor', await freePort(), child);
}
