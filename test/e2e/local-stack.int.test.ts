import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, type NatsServer, startNatsServer, waitForHttpOk } from '@hookstream/testkit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The environment `make up` gives every service: scripts/local-env.sh sourced with `HS_RUN_DIR` = `runDir`. */
function localEnv(runDir: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', 'source "$1" && env -0', 'local-env', join(ROOT, 'scripts/local-env.sh')],
      // A clean environment: nothing set by the caller decides the defaults under test.
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HS_RUN_DIR: runDir }, timeout: 30_000 },
      (err, stdout) => {
        if (err !== null) return reject(err);
        const env: Record<string, string> = {};
        for (const entry of stdout.split('\0')) {
          const eq = entry.indexOf('=');
          if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
        }
        resolve(env);
      },
    );
  });
}

/** Local addresses of the listening TCP sockets on `port` (IPv4 and IPv6), from /proc/net. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local = '', , state = ''] = line.trim().split(/\s+/);
      const [address = '', hexPort = ''] = local.split(':');
      if (state === '0A' && Number.parseInt(hexPort, 16) === port) found.push(address);
    }
  }
  return found;
}

const LOOPBACK_V4 = '0100007F'; // 127.0.0.1 as /proc/net/tcp writes it

describe('the local stack (scripts/local-env.sh)', () => {
  let server: NatsServer;
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'hs-local-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    server = await startNatsServer();
  });

  after(async () => {
    await server?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('local stack: .run/master-key and .run/control-token are readable by their owner only (0600), new or already there', async () => {
    const fresh = tempDir();
    await localEnv(fresh);
    for (const name of ['master-key', 'control-token']) {
      assert.equal(statSync(join(fresh, name)).mode & 0o777, 0o600, `new ${name}`);
    }
    // A key left world-readable by an older `make up` is tightened, and kept.
    const old = tempDir();
    writeFileSync(join(old, 'master-key'), 'b2xkLWtleQ==\n');
    chmodSync(join(old, 'master-key'), 0o644);
    const env = await localEnv(old);
    assert.equal(statSync(join(old, 'master-key')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(old, 'master-key'), 'utf8'), 'b2xkLWtleQ==\n');
    assert.equal(env.HS_MASTER_KEY, 'b2xkLWtleQ==');
  });

  it('local stack: ingest and its health server listen on 127.0.0.1 only by default', async () => {
    const env = await localEnv(tempDir());
    assert.equal(env.HS_INGEST_HOST, '127.0.0.1');
    assert.equal(env.HS_HEALTH_HOST, '127.0.0.1');
    const [ingestPort, healthPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [join(ROOT, 'services/ingest/src/main.ts')], {
      env: {
        ...env,
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'local',
        HS_INGEST_PORT: String(ingestPort),
        HS_HEALTH_PORT: String(healthPort),
        HS_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitForHttpOk(healthPort, '/readyz');
      assert.deepEqual(listeners(ingestPort), [LOOPBACK_V4], 'ingest');
      assert.deepEqual(listeners(healthPort), [LOOPBACK_V4], 'health');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});
