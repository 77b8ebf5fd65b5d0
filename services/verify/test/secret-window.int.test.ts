import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Header, isSecretActive } from '@hookstream/contracts';
import { SourceStore } from '@hookstream/models';
import { AckingPublisher, createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { buildApp, loadConfig, type VerifyApp } from '@hookstream/verify';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { sign as githubSign } from '@octokit/webhooks-methods';

const logger = createLogger({ service: 'test', level: 'silent' });
const SECRET = 'gh-rotating-secret';
// The secret's notAfterMs. Verify judges a delivery at the time ingest received it (hs-received-at).
const NOT_AFTER_MS = 1_800_000_000_000;

describe('verify: the secret window boundary against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let publisher: AckingPublisher;
  let verify: VerifyApp;
  const t = topology('sw');

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    const store = new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }));
    await store.put({ id: 'gh', provider: 'github', secrets: [{ id: 'old', value: SECRET, notAfterMs: NOT_AFTER_MS }] });
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: 'sw', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1', HS_LOG_LEVEL: 'silent' };
    verify = buildApp(loadConfig(env), { logger });
    await verify.run();
    publisher = new AckingPublisher(nats.nc, 10_000);
  });

  after(async () => {
    publisher?.close();
    await verify?.close();
    await nats?.drain();
    await server?.stop();
  });

  /** A signed GitHub delivery on hs.raw.gh as ingest stores it, received at `receivedAtMs`. */
  const raw = async (eventId: string, body: string, receivedAtMs: number): Promise<void> => {
    const h = headers();
    h.set('Nats-Msg-Id', `${eventId}:ingest`);
    h.set(Header.eventId, eventId);
    h.set(Header.source, 'gh');
    h.set(Header.receivedAt, String(receivedAtMs));
    h.set('hs-h-content-type', 'application/json');
    h.set('hs-h-x-hub-signature-256', await githubSign(SECRET, body));
    h.set('hs-h-x-github-event', 'push');
    await publisher.publish(t.raw('gh'), new TextEncoder().encode(body), h);
  };

  it('verify: a secret verifies until just before its notAfterMs and not at it, the rule deliver signs by', async () => {
    // Scenario: one millisecond before notAfterMs the old secret still verifies; at notAfterMs it is
    // over (no secret is active), exactly when deliver stops signing with it.
    await raw('before', '{"n":1}', NOT_AFTER_MS - 1);
    const verified = await waitFor('the event received before notAfterMs on hs.verified', async () =>
      (await storedMessages(jsm, t.streams.pipe)).find((m) => m.header.get(Header.eventId) === 'before'),
    );
    assert.equal(verified.header.get(Header.verifiedSecretId), 'old');

    await raw('at', '{"n":2}', NOT_AFTER_MS);
    const dead = await waitFor('the event received at notAfterMs in the DLQ', async () =>
      (await storedMessages(jsm, t.streams.dlq)).find((m) => m.header.get(Header.eventId) === 'at'),
    );
    assert.equal(dead.header.get(Header.dlqReason), 'no_secret');
    assert.equal((await storedMessages(jsm, t.streams.pipe)).filter((m) => m.header.get(Header.eventId) === 'at').length, 0);
    // Outbound signing reads the same rule.
    assert.equal(isSecretActive({ notAfterMs: NOT_AFTER_MS }, NOT_AFTER_MS), false);
    assert.equal(isSecretActive({ notAfterMs: NOT_AFTER_MS }, NOT_AFTER_MS - 1), true);
  });
});
