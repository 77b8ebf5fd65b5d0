import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resolver } from '@hookstream/deliver';
import { AddressGuard, BlockedAddressError, parseCidrs, unmapIPv4 } from '../src/ssrf.ts';

describe('SSRF guard', () => {
  const resolver =
    (table: Record<string, string[]>): Resolver =>
    async (host) => {
      const answers = table[host];
      if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  it('deliver: the guard refuses loopback, private, link-local, CGNAT, metadata, multicast and mapped addresses by default', () => {
    const guard = new AddressGuard();
    for (const address of [
      '127.0.0.1',
      '127.8.9.10',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:10.0.0.1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '[::1]',
    ]) {
      assert.equal(guard.allows(address), false, address);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(guard.allows(address), true, address);
    }
    assert.equal(unmapIPv4('::ffff:a9fe:a9fe'), '169.254.169.254');
  });

  it('deliver: vet refuses literal IPs and names resolving (even partly) to private addresses', async () => {
    const guard = new AddressGuard(
      [],
      resolver({ 'internal.example': ['10.0.0.1'], 'mixed.example': ['93.184.216.34', '10.0.0.1'], 'ok.example': ['93.184.216.34'] }),
    );
    await assert.rejects(guard.vet('169.254.169.254'), BlockedAddressError);
    await assert.rejects(guard.vet('10.0.0.1'), BlockedAddressError);
    await assert.rejects(guard.vet('[::ffff:10.0.0.1]'), BlockedAddressError);
    await assert.rejects(
      guard.vet('internal.example'),
      (err: Error) => err instanceof BlockedAddressError && /10\.0\.0\.1/.test(err.message),
    );
    await assert.rejects(guard.vet('mixed.example'), BlockedAddressError);
    assert.deepEqual(await guard.vet('ok.example'), { address: '93.184.216.34', family: 4 });
    await assert.rejects(guard.vet('nowhere.example'), { code: 'ENOTFOUND' });
  });

  it('deliver: 127.0.0.1 passes only when allow-listed', async () => {
    await assert.rejects(new AddressGuard().vet('127.0.0.1'), BlockedAddressError);
    const guard = new AddressGuard(['127.0.0.1/32'], resolver({ localhost: ['127.0.0.1'] }));
    assert.deepEqual(await guard.vet('127.0.0.1'), { address: '127.0.0.1', family: 4 });
    assert.deepEqual(await guard.vet('localhost'), { address: '127.0.0.1', family: 4 });
    await assert.rejects(guard.vet('127.0.0.2'), BlockedAddressError);
    await assert.rejects(guard.vet('169.254.169.254'), BlockedAddressError);
  });

  it('deliver: allow-list CIDRs are checked', () => {
    assert.throws(() => parseCidrs(['10.0.0.0/33']), /not a CIDR/);
    assert.throws(() => parseCidrs(['example.com/8']), /not a CIDR/);
    assert.throws(() => parseCidrs(['10.0.0.0/']), /not a CIDR/);
    parseCidrs(['10.0.0.0/8', '::1', 'fd00::/8']);
  });
});
