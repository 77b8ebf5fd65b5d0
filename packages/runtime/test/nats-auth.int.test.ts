import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BaseConfig, connectNats, createLogger, EnvReader, type NatsHandle, readBaseConfig } from '@hookstream/runtime';
import { freePort, httpRequest, type NatsServer, startNatsServer, waitFor } from '@hookstream/testkit';
import { NatsConnectError } from '../src/nats.ts';
import { openPlatform } from '../src/platform.ts';
import { makeOperator, makePki, type TestPki, writeUserSeed } from './nats-auth-fixtures.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
// Failing connects give up after this; long enough for one whole TLS attempt on a loaded machine.
const FAIL_FAST = { connectTimeoutMs: 3_000 };

/** A config compiled from `env` exactly as a service compiles it. */
function configOf(env: Record<string, string>): BaseConfig {
  const reader = new EnvReader({ HS_LOG_LEVEL: 'silent', ...env });
  const config = readBaseConfig(reader, 'auth-test', 0);
  reader.done();
  return config;
}

/** Publishes on a fresh inbox-like subject and waits for the message to come back: the connection works end to end. */
async function roundTrip(nats: NatsHandle): Promise<string> {
  const subject = `auth.check.${Math.random().toString(36).slice(2)}`;
  const sub = nats.nc.subscribe(subject, { max: 1 });
  await nats.nc.flush();
  nats.nc.publish(subject, 'ping');
  for await (const m of sub) return m.string();
  throw new Error('subscription ended without a message');
}

async function connectError(env: Record<string, string>): Promise<Error> {
  const err = await connectNats(configOf(env), logger, FAIL_FAST).then(
    async (nats) => {
      await nats.drain();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof NatsConnectError, `the connection must be refused, got ${String(err)}`);
  return err;
}

describe('nats auth: TLS with a client certificate (verify: true)', () => {
  let dir: string;
  let pki: TestPki;
  let server: NatsServer;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hs-nats-tls-'));
    pki = makePki(dir);
    server = await startNatsServer({
      extraConfig: `tls { cert_file: ${JSON.stringify(pki.serverCertFile)}, key_file: ${JSON.stringify(pki.serverKeyFile)}, ca_file: ${JSON.stringify(pki.caFile)}, verify: true, timeout: 2 }`,
    });
    url = `tls://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nats tls: the right CA and client certificate connect, and messages flow', async () => {
    const nats = await connectNats(
      configOf({ HS_NATS_URL: url, HS_NATS_TLS_CA: pki.caFile, HS_NATS_TLS_CERT: pki.clientCertFile, HS_NATS_TLS_KEY: pki.clientKeyFile }),
      logger,
    );
    try {
      assert.equal(nats.nc.info?.tls_verify, true, 'the server verified a client certificate');
      assert.equal(await roundTrip(nats), 'ping');
    } finally {
      await nats.drain();
    }
  });

  it('nats tls: without a client certificate the connect fails, naming the likely cause', async () => {
    const err = await connectError({ HS_NATS_URL: url, HS_NATS_TLS_CA: pki.caFile });
    assert.match(err.message, /tls on/);
    assert.match(err.message, /requires a client certificate: set HS_NATS_TLS_CERT and HS_NATS_TLS_KEY/);
    assert.match(server.output(), /client didn't provide a certificate/);
  });

  it('nats tls: a client certificate from a CA the server does not trust is refused', async () => {
    const err = await connectError({
      HS_NATS_URL: url,
      HS_NATS_TLS_CA: pki.caFile,
      HS_NATS_TLS_CERT: pki.rogueCertFile,
      HS_NATS_TLS_KEY: pki.rogueKeyFile,
    });
    assert.match(err.message, /refusing the client certificate/);
    assert.match(server.output(), /certificate signed by unknown authority/);
  });

  it("nats tls: without the CA the server's certificate is not trusted", async () => {
    // Scenario: a plain nats:// URL and no TLS settings at all; the server
    // requires TLS, the client upgrades and cannot verify the private CA.
    const err = await connectError({ HS_NATS_URL: `nats://127.0.0.1:${server.port}` });
    assert.match(err.message, /tls off/);
    assert.match(err.message, /unable to verify the first certificate/);
  });
});

describe('nats auth: TLS handshake first', () => {
  let dir: string;
  let pki: TestPki;
  let server: NatsServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hs-nats-tls-first-'));
    pki = makePki(dir);
    server = await startNatsServer({
      extraConfig: `tls { cert_file: ${JSON.stringify(pki.serverCertFile)}, key_file: ${JSON.stringify(pki.serverKeyFile)}, handshake_first: true }`,
    });
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nats tls: HS_NATS_TLS_FIRST=true talks to a handshake_first server; without it the connect fails', async () => {
    const env = { HS_NATS_URL: `tls://127.0.0.1:${server.port}`, HS_NATS_TLS_CA: pki.caFile };
    const nats = await connectNats(configOf({ ...env, HS_NATS_TLS_FIRST: 'true' }), logger);
    try {
      assert.equal(await roundTrip(nats), 'ping');
    } finally {
      await nats.drain();
    }
    await connectError(env);
  });
});

describe('nats auth: NKey users', () => {
  let dir: string;
  let server: NatsServer;
  let monitorPort: number;
  let allowed: string;
  let allowedKey: string;
  let second: string;
  let secondKey: string;
  let stranger: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hs-nats-nkey-'));
    allowed = join(dir, 'allowed.nk');
    allowedKey = writeUserSeed(allowed).getPublicKey();
    second = join(dir, 'second.nk');
    secondKey = writeUserSeed(second).getPublicKey();
    stranger = join(dir, 'stranger.nk');
    writeUserSeed(stranger);
    monitorPort = await freePort();
    server = await startNatsServer({
      args: ['-m', String(monitorPort)],
      extraConfig: `authorization { users: [ { nkey: ${allowedKey} }, { nkey: ${secondKey} } ] }`,
    });
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The NKeys of the connections the server has now (its monitoring endpoint). */
  async function connectedKeys(): Promise<string[]> {
    const res = await httpRequest({ port: monitorPort, path: '/connz?auth=true' });
    const connz = JSON.parse(res.body) as { connections?: { authorized_user?: string }[] };
    return (connz.connections ?? []).map((c) => c.authorized_user ?? '');
  }

  it('nats nkey: the seed file of a configured user connects', async () => {
    const nats = await connectNats(configOf({ HS_NATS_URL: server.url, HS_NATS_NKEY_SEED_FILE: allowed }), logger);
    try {
      assert.equal(await roundTrip(nats), 'ping');
      assert.ok((await connectedKeys()).includes(allowedKey));
    } finally {
      await nats.drain();
    }
  });

  it('nats nkey: an unknown seed and no credentials are refused', async () => {
    const wrong = await connectError({ HS_NATS_URL: server.url, HS_NATS_NKEY_SEED_FILE: stranger });
    assert.match(wrong.message, /auth nkey/);
    assert.match(wrong.message, /Authorization Violation/);
    assert.match((await connectError({ HS_NATS_URL: server.url })).message, /auth none.*Authorization Violation/);
  });

  it('nats nkey: a replaced seed file is used from the next reconnect on', async () => {
    // Scenario: Kubernetes updates a mounted Secret in place; after a server
    // restart the client reconnects as the user whose seed is in the file now.
    const seedFile = join(dir, 'rotating.nk');
    copyFileSync(allowed, seedFile);
    const nats = await connectNats(configOf({ HS_NATS_URL: server.url, HS_NATS_NKEY_SEED_FILE: seedFile }), logger);
    try {
      assert.ok((await connectedKeys()).includes(allowedKey));
      copyFileSync(second, seedFile);
      await server.restart();
      await waitFor('the client to reconnect with the new seed', async () =>
        (await connectedKeys()).includes(secondKey) ? true : undefined,
      );
      assert.equal(await roundTrip(nats), 'ping');
    } finally {
      await nats.drain();
    }
  });
});

describe('nats auth: .creds in operator mode (JWTs minted offline, memory resolver)', () => {
  let dir: string;
  let server: NatsServer;
  let creds: string;
  let foreign: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hs-nats-creds-'));
    const operator = makeOperator();
    creds = join(dir, 'hookstream.creds');
    operator.writeUserCreds(creds, Math.floor(Date.now() / 1000) + 3600);
    foreign = join(dir, 'foreign.creds');
    operator.writeForeignCreds(foreign);
    server = await startNatsServer({ extraConfig: operator.serverConfig });
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("nats creds: a user's .creds file opens the platform (connect + every stream) like a service does", async () => {
    const platform = await openPlatform(configOf({ HS_NATS_URL: server.url, HS_NATS_CREDS: creds, HS_NAMESPACE: 'creds' }), logger);
    try {
      const streams: string[] = [];
      for await (const s of platform.jsm.streams.list()) streams.push(s.config.name);
      assert.ok(streams.includes(platform.topology.streams.raw), streams.join(' '));
      assert.equal(await roundTrip(platform.nats), 'ping');
    } finally {
      await platform.nats.drain();
    }
  });

  it('nats creds: a user of an account the server does not know is refused', async () => {
    const err = await connectError({ HS_NATS_URL: server.url, HS_NATS_CREDS: foreign });
    assert.match(err.message, /auth creds/);
    assert.match(err.message, /Authorization Violation/);
  });
});
