import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadMigrations, versionAtLeast } from '@hookstream/clickhouse';

describe('migrations', () => {
  it('migrations: versionAtLeast compares major then minor of a server version', () => {
    assert.equal(versionAtLeast('18.16.1', [19, 6]), false);
    assert.equal(versionAtLeast('19.5.3.8', [19, 6]), false);
    assert.equal(versionAtLeast('19.6.1', [19, 6]), true);
    assert.equal(versionAtLeast('19.10.1', [19, 6]), true, 'minor compared as a number, not text');
    assert.equal(versionAtLeast('24.3.2.23', [19, 6]), true);
    assert.equal(versionAtLeast('', [19, 6]), false);
  });

  it('migrations: a `-- requires: X.Y` line sets the oldest server a file runs on; without it none is required', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hs-migrations-'));
    writeFileSync(join(dir, '0001_plain.sql'), '-- a table\nCREATE TABLE {database}.a (x UInt8) ENGINE = Memory;\n');
    writeFileSync(join(dir, '0002_ttl.sql'), '-- requires: 19.6\nALTER TABLE {database}.a MODIFY TTL x;\n');
    const [plain, ttl] = loadMigrations(dir, 'db');
    assert.equal(plain?.requires, undefined);
    assert.deepEqual(ttl?.requires, [19, 6]);
    assert.deepEqual(ttl?.statements, ['ALTER TABLE db.a MODIFY TTL x']);
  });
});
