import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseServer, startClickHouse } from '@hookstream/testkit';
import { findBinary } from '../src/binaries.ts';

describe('testkit clickhouse-server', () => {
  let server: ClickHouseServer;

  before(async () => {
    server = await startClickHouse();
  });

  after(async () => {
    await server?.stop();
  });

  it('testkit: clickhouse-server is found where Debian installs it', () => {
    assert.match(findBinary('clickhouse-server', 'clickhouse-server'), /clickhouse-server$/);
  });

  it('testkit: a started ClickHouse answers /ping and SQL over HTTP', async () => {
    assert.equal(await server.ping(), true);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.httpPort, server.tcpPort);
    assert.match((await server.query('SELECT version()')).trim(), /^\d+\.\d+/);
  });

  // Scenario: rows written before a crash are still there after a restart on
  // the same ports and data directory; while it is down nothing answers.
  it('testkit: ClickHouse keeps its data across kill and restart', async () => {
    await server.query('CREATE TABLE default.kept (n UInt32) ENGINE = MergeTree() ORDER BY n');
    await server.query('INSERT INTO default.kept VALUES (1), (2), (3)');
    const port = server.httpPort;
    await server.kill();
    assert.equal(server.running, false);
    assert.equal(await server.ping(), false);
    await server.restart();
    assert.equal(server.httpPort, port);
    assert.equal((await server.query('SELECT count() FROM default.kept')).trim(), '3');
    await server.stopProcess();
    await server.restart();
    assert.equal((await server.query('SELECT sum(n) FROM default.kept')).trim(), '6');
  });
});
