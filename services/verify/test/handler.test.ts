import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Header, type RejectionRecord } from '@hookstream/contracts';
import { parseSourceConfig, type SourceConfig } from '@hookstream/models';
import Stripe from 'stripe';
import { handleRaw, type RawMessage, type VerifyDeps } from '../src/handler.ts';

const SECRET = 'whsec_test_secret';
const RECEIVED_AT = 1_700_000_000_000;
const stripe = parseSourceConfig({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: SECRET }] });

function rawMessage(body: string, headers: Record<string, string>, receivedAt = RECEIVED_AT): RawMessage {
  const all: Record<string, string> = {
    [Header.eventId]: 'evt-1',
    [Header.source]: 'stripe',
    [Header.receivedAt]: String(receivedAt),
  };
  for (const [k, v] of Object.entries(headers)) all[`hs-h-${k.toLowerCase()}`] = v;
  return { subject: 'hs.raw.stripe', data: new TextEncoder().encode(body), header: (n) => all[n] };
}

function fakeDeps(sources: Record<string, SourceConfig>, nowMs: number) {
  const forwarded: { eventId: string; source: string; secretId: string | undefined }[] = [];
  const rejections: RejectionRecord[] = [];
  const indexed: { eventId: string; sourceId: string; key: string }[] = [];
  const deps: VerifyDeps = {
    source: (id) => sources[id],
    now: () => nowMs,
    forward: async (_msg, eventId, source, secretId) => {
      forwarded.push({ eventId, source, secretId });
    },
    recordRejection: async (r) => {
      rejections.push(r);
    },
    index: async (eventId, sourceId, key) => {
      indexed.push({ eventId, sourceId, key });
    },
  };
  return { deps, forwarded, rejections, indexed };
}

const signed = (body: string, timestamp = RECEIVED_AT / 1000, secret = SECRET) => ({
  'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
});

describe('verify handler', () => {
  it('verify: an authentic Stripe event is forwarded and acked', async () => {
    const body = '{"id":"evt_1","type":"payment_intent.succeeded"}';
    const { deps, forwarded, rejections } = fakeDeps({ stripe }, RECEIVED_AT + 1_000);
    const outcome = await handleRaw(rawMessage(body, signed(body)), deps);
    assert.deepEqual(outcome, { kind: 'ack' });
    assert.deepEqual(forwarded, [{ eventId: 'evt-1', source: 'stripe', secretId: 'k1' }]);
    assert.equal(rejections.length, 0);
  });

  it('verify: a forged event is recorded and dead-lettered with bad_signature', async () => {
    const body = '{"id":"evt_1"}';
    const { deps, forwarded, rejections } = fakeDeps({ stripe }, RECEIVED_AT);
    const outcome = await handleRaw(rawMessage(body, signed(body, RECEIVED_AT / 1000, 'whsec_wrong')), deps);
    assert.equal(outcome.kind, 'term');
    assert.equal(outcome.kind === 'term' && outcome.reason, 'bad_signature');
    assert.equal(forwarded.length, 0);
    assert.equal(rejections[0]?.reason, 'bad_signature');
    assert.equal(rejections[0]?.event_id, 'evt-1');
    assert.equal(rejections[0]?.stage, 'verify');
  });

  it("verify: a rejected event is indexed under the provider's id (it never reaches dedup); an authentic one is left to dedup", async () => {
    const body = '{"id":"evt_forged"}';
    const { deps, indexed } = fakeDeps({ stripe }, RECEIVED_AT);
    await handleRaw(rawMessage(body, signed(body, RECEIVED_AT / 1000, 'whsec_wrong')), deps);
    assert.deepEqual(indexed, [{ eventId: 'evt-1', sourceId: 'stripe', key: 'evt_forged' }]);
    await handleRaw(rawMessage(body, signed(body)), deps);
    assert.equal(indexed.length, 1, 'nothing indexed for an authentic event');
    // No usable provider id (not JSON): nothing to index, the event is still dead-lettered.
    const { deps: noKey, indexed: none } = fakeDeps({ stripe }, RECEIVED_AT);
    assert.equal((await handleRaw(rawMessage('not json', signed('not json', RECEIVED_AT / 1000, 'whsec_wrong')), noKey)).kind, 'term');
    assert.deepEqual(none, []);
  });

  it('verify: tolerance is judged at receipt, so a backlog never makes good events stale', async () => {
    // Scenario: verify was down for an hour; the event was signed and
    // received an hour ago, and is verified now.
    const body = '{"id":"evt_2"}';
    const { deps, forwarded } = fakeDeps({ stripe }, RECEIVED_AT + 3_600_000);
    assert.deepEqual(await handleRaw(rawMessage(body, signed(body)), deps), { kind: 'ack' });
    assert.equal(forwarded.length, 1);
  });

  it('verify: an event signed long before it was received is stale', async () => {
    const body = '{"id":"evt_3"}';
    const { deps } = fakeDeps({ stripe }, RECEIVED_AT);
    const outcome = await handleRaw(rawMessage(body, signed(body, RECEIVED_AT / 1000 - 301)), deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'stale_timestamp');
  });

  it('verify: a source deleted after ingest gives unknown_source', async () => {
    const { deps, rejections } = fakeDeps({}, RECEIVED_AT);
    const outcome = await handleRaw(rawMessage('{}', {}), deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'unknown_source');
    assert.equal(rejections[0]?.reason, 'unknown_source');
  });

  it('verify: a failing downstream publish throws, so the worker retries', async () => {
    const body = '{"id":"evt_4"}';
    const { deps } = fakeDeps({ stripe }, RECEIVED_AT);
    const failing: VerifyDeps = {
      ...deps,
      forward: async () => {
        throw new Error('no PubAck');
      },
    };
    await assert.rejects(handleRaw(rawMessage(body, signed(body)), failing), /no PubAck/);
  });
});
