import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resolver } from '@hookstream/deliver';
import { buildConnector } from 'undici';
import { classifyError } from '../src/classify.ts';
import { GuardedHttpClient, guardedConnector } from '../src/http-client.ts';
import { AddressGuard } from '../src/ssrf.ts';
import { startEndpoint } from './helpers.ts';

const table =
  (answers: Record<string, string>): Resolver =>
  async (host) => {
    const address = answers[host];
    if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: 4 }];
  };

describe('guarded HTTP client', () => {
  it('deliver: the client connects to the vetted address and keeps the name in the Host header', async () => {
    const ep = await startEndpoint();
    const client = new GuardedHttpClient(new AddressGuard(['127.0.0.1/32'], table({ 'hooks.test': '127.0.0.1' })));
    try {
      const result = await client.send({
        url: `http://hooks.test:${ep.port}/in`,
        headers: { 'x-a': '1' },
        body: Buffer.from('{}'),
        timeoutMs: 2_000,
      });
      assert.equal(result.kind, 'response');
      assert.equal(ep.received[0]?.headers.host, `hooks.test:${ep.port}`);
      assert.equal(ep.received[0]?.path, '/in');
    } finally {
      await client.close();
      await ep.close();
    }
  });

  it('deliver: a name resolving to 10.0.0.1 is refused before any socket is opened', async () => {
    let connects = 0;
    const base = buildConnector({});
    const connector = guardedConnector(new AddressGuard([], table({ 'evil.test': '10.0.0.1' })), (opts, cb) => {
      connects++;
      return base(opts, cb);
    });
    const result = await new Promise<unknown>((resolve) =>
      connector({ hostname: 'evil.test', host: 'evil.test', protocol: 'http:', port: '80' } as Parameters<typeof connector>[0], (...args) =>
        resolve(args[0]),
      ),
    );
    assert.equal(connects, 0);
    assert.equal(classifyError(result, false).outcome, 'blocked');
  });

  it('deliver: the client reports blocked, dns and connect failures as results, never throws', async () => {
    const client = new GuardedHttpClient(new AddressGuard(['127.0.0.1/32'], table({ 'evil.test': '10.0.0.1' })));
    try {
      const body = Buffer.from('{}');
      const blocked = await client.send({ url: 'http://evil.test/', headers: {}, body, timeoutMs: 1_000 });
      assert.ok(blocked.kind === 'error' && classifyError(blocked.error, blocked.timedOut).outcome === 'blocked');
      const loopback = await client.send({ url: 'http://127.0.0.2/', headers: {}, body, timeoutMs: 1_000 });
      assert.ok(
        loopback.kind === 'error' && classifyError(loopback.error, loopback.timedOut).outcome === 'blocked',
        'not in the allow-list',
      );
      const dns = await client.send({ url: 'http://nowhere.test/', headers: {}, body, timeoutMs: 1_000 });
      assert.ok(dns.kind === 'error' && classifyError(dns.error, dns.timedOut).outcome === 'dns');
      const ep = await startEndpoint();
      const port = ep.port;
      await ep.close();
      const refused = await client.send({ url: `http://127.0.0.1:${port}/`, headers: {}, body, timeoutMs: 1_000 });
      assert.ok(refused.kind === 'error' && classifyError(refused.error, refused.timedOut).outcome === 'connect');
    } finally {
      await client.close();
    }
  });
});
