import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BaseConfig, ConfigError, EnvReader, readBaseConfig } from '@hookstream/runtime';
import { nkeys } from '@nats-io/transport-node';
import { BASE_ENV } from '../src/config.ts';
import { credsText, makeOperator, makePki, seedOf, signJwt, type TestPki, writeUserSeed } from './nats-auth-fixtures.ts';

type Env = Record<string, string>;

/** The config, or the ConfigError's problems. */
function compile(env: Env): { config: BaseConfig; problems: readonly string[] } {
  const reader = new EnvReader(env);
  const config = readBaseConfig(reader, 'svc', 9000);
  try {
    reader.done();
    return { config, problems: [] };
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { config, problems: err.problems };
  }
}

describe('nats config', () => {
  let dir: string;
  let pki: TestPki;
  let seedFile: string;
  let credsFile: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hs-nats-config-'));
    pki = makePki(dir);
    seedFile = join(dir, 'user.nk');
    writeUserSeed(seedFile);
    credsFile = join(dir, 'user.creds');
    makeOperator().writeUserCreds(credsFile);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('nats config: nothing set keeps plain NATS without credentials', () => {
    const { config, problems } = compile({});
    assert.deepEqual(problems, []);
    assert.equal(config.natsCredsFile, undefined);
    assert.equal(config.natsNkeySeedFile, undefined);
    assert.equal(config.natsTls, undefined);
  });

  it('nats config: every new variable is listed in BASE_ENV', () => {
    for (const name of [
      'HS_NATS_CREDS',
      'HS_NATS_NKEY_SEED_FILE',
      'HS_NATS_TLS_CA',
      'HS_NATS_TLS_CERT',
      'HS_NATS_TLS_KEY',
      'HS_NATS_TLS_FIRST',
    ]) {
      assert.ok((BASE_ENV as readonly string[]).includes(name), name);
    }
  });

  it('nats config: a .creds file with a CA and a client certificate resolves to paths', () => {
    const { config, problems } = compile({
      HS_NATS_URL: 'tls://nats-0.nats:4222,tls://nats-1.nats:4222',
      HS_NATS_CREDS: credsFile,
      HS_NATS_TLS_CA: pki.caFile,
      HS_NATS_TLS_CERT: pki.clientCertFile,
      HS_NATS_TLS_KEY: pki.clientKeyFile,
    });
    assert.deepEqual(problems, []);
    assert.equal(config.natsCredsFile, credsFile);
    assert.deepEqual(config.natsTls, {
      caFile: pki.caFile,
      certFile: pki.clientCertFile,
      keyFile: pki.clientKeyFile,
      handshakeFirst: false,
    });
    assert.ok(Object.isFrozen(config.natsTls));
  });

  it('nats config: an NKey seed file with a trailing newline is accepted', () => {
    const { config, problems } = compile({ HS_NATS_NKEY_SEED_FILE: seedFile });
    assert.deepEqual(problems, []);
    assert.equal(config.natsNkeySeedFile, seedFile);
  });

  it('nats config: a tls:// URL alone requires TLS with the default CAs', () => {
    const { config, problems } = compile({ HS_NATS_URL: 'nats://a:4222,tls://b:4222' });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.natsTls, { caFile: undefined, certFile: undefined, keyFile: undefined, handshakeFirst: false });
  });

  it('nats config: HS_NATS_TLS_FIRST alone asks for a handshake-first TLS connection', () => {
    const { config, problems } = compile({ HS_NATS_TLS_FIRST: 'true' });
    assert.deepEqual(problems, []);
    assert.equal(config.natsTls?.handshakeFirst, true);
  });

  it('nats config: every bad variable is named at once', () => {
    // Scenario: a deployment with a missing CA, a certificate without its key,
    // a public key where the seed should be, a websocket URL and a bad boolean.
    const publicKeyFile = join(dir, 'public.nk');
    writeFileSync(publicKeyFile, `${nkeys.createUser().getPublicKey()}\n`);
    const { problems } = compile({
      HS_NATS_URL: 'ws://nats:8080',
      HS_NATS_TLS_CA: join(dir, 'missing-ca.pem'),
      HS_NATS_TLS_CERT: pki.clientCertFile,
      HS_NATS_NKEY_SEED_FILE: publicKeyFile,
      HS_NATS_TLS_FIRST: 'maybe',
    });
    const names = problems.map((p) => p.slice(0, p.indexOf(':')));
    assert.deepEqual(names.sort(), ['HS_NATS_NKEY_SEED_FILE', 'HS_NATS_TLS_CA', 'HS_NATS_TLS_FIRST', 'HS_NATS_TLS_KEY', 'HS_NATS_URL']);
    assert.match(problems.find((p) => p.startsWith('HS_NATS_TLS_CA')) ?? '', /cannot read .*missing-ca\.pem: no such file/);
    assert.match(problems.find((p) => p.startsWith('HS_NATS_TLS_KEY')) ?? '', /required with HS_NATS_TLS_CERT/);
    assert.match(problems.find((p) => p.startsWith('HS_NATS_NKEY_SEED_FILE')) ?? '', /public user key \(U\.\.\.\), not its seed/);
    assert.match(problems.find((p) => p.startsWith('HS_NATS_URL')) ?? '', /ws:\/\/ is not supported/);
  });

  it('nats config: a key without its certificate, and a key of another certificate, are refused', () => {
    assert.deepEqual(compile({ HS_NATS_TLS_KEY: pki.clientKeyFile }).problems, [
      'HS_NATS_TLS_CERT: is required with HS_NATS_TLS_KEY (a client key needs its certificate)',
    ]);
    const { problems } = compile({ HS_NATS_TLS_CERT: pki.clientCertFile, HS_NATS_TLS_KEY: pki.rogueKeyFile });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^HS_NATS_TLS_KEY: .*rogue\.key is not the key of the certificate/);
  });

  it('nats config: files that hold the wrong thing are named with what they hold', () => {
    // Scenario: the key where the CA should be, the CA where the key should be.
    const { problems } = compile({ HS_NATS_TLS_CA: pki.clientKeyFile, HS_NATS_TLS_CERT: pki.clientCertFile, HS_NATS_TLS_KEY: pki.caFile });
    assert.deepEqual(problems.map((p) => p.replace(dir, '<dir>')).sort(), [
      'HS_NATS_TLS_CA: <dir>/client.key holds no PEM certificate',
      'HS_NATS_TLS_KEY: <dir>/hs-test-ca.pem holds no unencrypted PEM private key',
    ]);
  });

  it('nats config: auth methods exclude each other, and the problem says which are set', () => {
    const { problems } = compile({ HS_NATS_CREDS: credsFile, HS_NATS_TOKEN: 'sekrit-token', HS_NATS_NKEY_SEED_FILE: seedFile });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^HS_NATS_TOKEN, HS_NATS_CREDS, HS_NATS_NKEY_SEED_FILE: set only one/);
    assert.doesNotMatch(problems[0] ?? '', /sekrit/);
    assert.match(
      compile({ HS_NATS_USER: 'u', HS_NATS_PASSWORD: 'p', HS_NATS_TOKEN: 't' }).problems[0] ?? '',
      /^HS_NATS_USER, HS_NATS_TOKEN: /,
    );
    assert.deepEqual(compile({ HS_NATS_PASSWORD: 'p' }).problems, ['HS_NATS_PASSWORD: is set without HS_NATS_USER']);
    assert.deepEqual(compile({ HS_NATS_USER: 'u', HS_NATS_PASSWORD: 'p' }).problems, []);
  });

  it('nats config: a seed file must hold a valid user seed, and the problem never quotes it', () => {
    const account = nkeys.createAccount();
    const user = seedOf(nkeys.createUser());
    const cases: [string, RegExp][] = [
      [seedOf(account), /holds an account seed, not a user seed \(SU\.\.\.\)/],
      [`${user.slice(0, -4)}AAAA`, /holds no valid NKey user seed/],
      ['hello', /holds no NKey user seed \(expected one line starting with SU\)/],
    ];
    for (const [content, expected] of cases) {
      writeFileSync(join(dir, 'bad.nk'), content);
      const { problems } = compile({ HS_NATS_NKEY_SEED_FILE: join(dir, 'bad.nk') });
      assert.equal(problems.length, 1, content.slice(0, 2));
      assert.match(problems[0] ?? '', expected);
      assert.ok(!problems[0]?.includes(content), 'the seed is not quoted');
    }
  });

  it('nats config: a .creds file is checked: format, seed kind, key match and expiry', () => {
    const user = nkeys.createUser();
    const account = nkeys.createAccount();
    const userJwt = (exp?: number) => signJwt(account, user.getPublicKey(), { type: 'user', version: 2 }, exp);
    const cases: [string, RegExp][] = [
      ['not a creds file', /is not a valid NATS \.creds file/],
      [credsText(userJwt(), seedOf(account)), /holds no user NKey seed/],
      [credsText(userJwt(), seedOf(nkeys.createUser())), /holds a JWT issued to another key than the file's seed/],
      [credsText(signJwt(account, user.getPublicKey(), { type: 'account', version: 2 }), seedOf(user)), /holds a JWT of type "account"/],
      [credsText(userJwt(1_700_000_000), seedOf(user)), /holds a user JWT that expired at 2023-11-14T22:13:20\.000Z/],
    ];
    for (const [content, expected] of cases) {
      writeFileSync(join(dir, 'bad.creds'), content);
      const { problems } = compile({ HS_NATS_CREDS: join(dir, 'bad.creds') });
      assert.equal(problems.length, 1, String(expected));
      assert.match(problems[0] ?? '', expected);
      assert.ok(!problems[0]?.includes(seedOf(user)), 'the seed is not quoted');
    }
    writeFileSync(join(dir, 'good.creds'), credsText(userJwt(Math.floor(Date.now() / 1000) + 3600), seedOf(user)));
    assert.deepEqual(compile({ HS_NATS_CREDS: join(dir, 'good.creds') }).problems, []);
  });

  it('nats config: a directory where a file should be is a problem, not a crash', () => {
    const { problems } = compile({ HS_NATS_CREDS: dir });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^HS_NATS_CREDS: cannot read .*: it is a directory$/);
  });
});
