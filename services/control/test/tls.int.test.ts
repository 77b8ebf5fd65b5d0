import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { connectControl } from '@hookstream/proto';
import { createLogger } from '@hookstream/runtime';
import { type NatsServer, startNatsServer } from '@hookstream/testkit';

const TOKEN = 'tls-test-token-0123456789';

describe('control over TLS', () => {
  let server: NatsServer;
  let app: ControlApp;
  let dir: string;

  before(async () => {
    // Scenario: a self-signed certificate for 127.0.0.1 (openssl), trusted by the client as its CA.
    dir = mkdtempSync(join(tmpdir(), 'hs-control-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    server = await startNatsServer();
    app = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'tls',
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONSOLE_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONTROL_TLS_CERT: join(dir, 'cert.pem'),
        HS_CONTROL_TLS_KEY: join(dir, 'key.pem'),
      }),
      { logger: createLogger({ service: 'test', level: 'silent' }) },
    );
    await app.run();
  });

  after(async () => {
    await app?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('control: with HS_CONTROL_TLS_CERT/KEY it serves TLS, and plaintext clients fail', async () => {
    const secure = connectControl({ url: `https://127.0.0.1:${app.grpcPort()}`, token: TOKEN, caPem: readFileSync(join(dir, 'cert.pem')) });
    const plain = connectControl({ url: `127.0.0.1:${app.grpcPort()}`, token: TOKEN, deadlineMs: 2_000 });
    try {
      assert.deepEqual((await secure.listSources()).sources, []);
      await assert.rejects(plain.listSources());
    } finally {
      secure.close();
      plain.close();
    }
  });
});
