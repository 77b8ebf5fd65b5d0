import { Header } from '@hookstream/contracts';
import { EndpointStore } from '@hookstream/models';
// Shared by deliver's integration tests (the recording HTTP endpoint lives in testkit): task
// publishing, and readers for attempt records and dead letters.
import { AckingPublisher, ensureStreams, type NatsHandle, openBucket, streamConfigs, type Topology, topology } from '@hookstream/runtime';
import { storedMessages, waitFor } from '@hookstream/testkit';

export { type Received, type Responder, startEndpoint, type TestEndpoint } from '@hookstream/testkit';

import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { headers as newHeaders } from '@nats-io/transport-node';

/** Publishes one delivery task as route would: raw body, envelope headers, `hs-endpoint-id`, `Nats-Msg-Id`. */
export async function publishTask(
  nats: NatsHandle,
  t: Topology,
  endpointId: string,
  eventId: string,
  body: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const publisher = new AckingPublisher(nats.nc, 10_000);
  try {
    await publisher.publish(t.deliver(endpointId), new TextEncoder().encode(body), taskHeaders(endpointId, eventId, extra));
  } finally {
    publisher.close();
  }
}

/** The headers of a task made by route. */
export function taskHeaders(endpointId: string, eventId: string, extra: Record<string, string> = {}) {
  const h = newHeaders();
  h.set('Nats-Msg-Id', `${eventId}:${endpointId}`);
  h.set(Header.eventId, eventId);
  h.set(Header.source, 'shop');
  h.set(Header.receivedAt, String(Date.now()));
  h.set(Header.eventType, 'order.created');
  h.set(Header.endpointId, endpointId);
  h.set('hs-h-content-type', 'application/json');
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

/** Attempt records (parsed) currently on `hs.obs.attempt`, optionally for one endpoint, in order. */
export async function attempts(jsm: JetStreamManager, t: Topology, endpointId?: string): Promise<Record<string, unknown>[]> {
  const all = (await storedMessages(jsm, t.streams.obs, t.obs('attempt'))).map(
    (m) => JSON.parse(Buffer.from(m.data).toString()) as Record<string, unknown>,
  );
  return endpointId === undefined ? all : all.filter((r) => r.endpoint_id === endpointId);
}

/** Waits until at least `n` attempt records exist for the endpoint, and answers them. */
export function waitForAttempts(jsm: JetStreamManager, t: Topology, endpointId: string, n: number, timeoutMs = 15_000) {
  return waitFor(
    `${n} attempts on ${endpointId}`,
    async () => {
      const found = await attempts(jsm, t, endpointId);
      return found.length >= n ? found : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Waits until at least `n` dead letters exist on `hs.dlq.deliver.{endpoint}`, and answers them. */
export function waitForDeadLetters(
  jsm: JetStreamManager,
  t: Topology,
  endpointId: string,
  n: number,
  timeoutMs = 15_000,
): Promise<StoredMsg[]> {
  return waitFor(
    `${n} dead letters for ${endpointId}`,
    async () => {
      const found = await storedMessages(jsm, t.streams.dlq, t.dlq('deliver', endpointId));
      return found.length >= n ? found : undefined;
    },
    timeoutMs,
    50,
  );
}

/** The signing secret every test endpoint gets unless it sets its own. */
export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** Deliver's environment for a test namespace: health on a free port, loopback allow-listed. */
export function deliverEnv(natsUrl: string, ns: string): Record<string, string> {
  return {
    HS_NATS_URL: natsUrl,
    HS_NAMESPACE: ns,
    HS_HEALTH_PORT: '0',
    HS_HEALTH_HOST: '127.0.0.1',
    HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32',
  };
}

/** Creates a namespace's streams and stores its endpoints (each with {@link TEST_SECRET} and `defaults` unless it sets them). */
export async function setUpNamespace(
  nats: NatsHandle,
  jsm: JetStreamManager,
  ns: string,
  endpoints: readonly object[],
  defaults: object = {},
): Promise<{ t: Topology; store: EndpointStore }> {
  const t = topology(ns);
  await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
  const store = new EndpointStore(await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 }));
  for (const e of endpoints) await store.put({ secrets: [{ id: 's1', value: TEST_SECRET }], ...defaults, ...e });
  return { t, store };
}
