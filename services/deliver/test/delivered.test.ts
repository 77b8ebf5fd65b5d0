import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@hookstream/deliver';
import { DELIVER_DEFAULTS } from '../src/config.ts';
import { decodeMarker, deliveredKey, encodeMarker } from '../src/delivered.ts';

const NATS = { HS_NATS_URL: 'nats://127.0.0.1:4222' };

describe('deliver: hs_delivered keys, markers and settings', () => {
  it('deliver: a delivery key is {endpoint}.{event}[.{replay}], with unsafe parts hashed', () => {
    assert.equal(deliveredKey('0191b7e2-aaaa', 'billing'), 'billing.0191b7e2-aaaa');
    assert.equal(deliveredKey('01J9ZK', 'billing', 'dlq-42'), 'billing.01J9ZK.dlq-42');
    // Replay ids may hold ':' (a request id); KV keys may not.
    const replay = deliveredKey('01J9ZK', 'billing', 'req:1');
    assert.match(replay, /^billing\.01J9ZK\.sha256-[0-9a-f]{64}$/);
    assert.notEqual(replay, deliveredKey('01J9ZK', 'billing', 'req:2'));
    assert.match(deliveredKey('', 'billing'), /^billing\.sha256-[0-9a-f]{64}$/, 'never an empty token');
    assert.match(deliveredKey('a.b', 'billing'), /^billing\.sha256-/, 'a dot would add a token');
    assert.notEqual(deliveredKey('e', 'ep'), deliveredKey('e', 'ep', 'r'), 'a replay never shares the original delivery key');
  });

  it('deliver: a marker reads back as written; a value that is not one still marks the delivery', () => {
    const marker = { request_id: '0f8c2a9e-5d1b-4c3e-9a7f-2b6d8e1c4f30', attempt: 3, at: 1_700_000_000_000 };
    assert.deepEqual(decodeMarker(encodeMarker(marker)), marker);
    assert.deepEqual(decodeMarker(new TextEncoder().encode('not json')), { request_id: '', attempt: 0, at: 0 });
    assert.deepEqual(decodeMarker(new TextEncoder().encode('null')), { request_id: '', attempt: 0, at: 0 });
  });

  it('deliver: HS_DELIVER_DELIVERED_TTL_MS defaults to 15 min and must be at least twice the ack wait', () => {
    assert.equal(loadConfig(NATS).deliveredTtlMs, DELIVER_DEFAULTS.deliveredTtlMs);
    assert.equal(DELIVER_DEFAULTS.deliveredTtlMs, 900_000);
    assert.equal(loadConfig({ ...NATS, HS_DELIVER_DELIVERED_TTL_MS: '3600000' }).deliveredTtlMs, 3_600_000);
    assert.throws(
      () => loadConfig({ ...NATS, HS_DELIVER_DELIVERED_TTL_MS: '60000', HS_DELIVER_ACK_WAIT_MS: '45000' }),
      /HS_DELIVER_DELIVERED_TTL_MS: must be at least twice HS_DELIVER_ACK_WAIT_MS \(90000 ms\)/,
    );
    assert.throws(() => loadConfig({ ...NATS, HS_DELIVER_DELIVERED_TTL_MS: '1000' }), /HS_DELIVER_DELIVERED_TTL_MS/);
  });
});
