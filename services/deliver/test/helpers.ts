// Shared by deliver's integration tests: a recording HTTP endpoint, task
// publishing, and readers for attempt records and dead letters.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AckingPublisher, Header, type NatsHandle, type Topology } from '@hookstream/runtime';
import { storedMessages, waitFor } from '@hookstream/testkit';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { headers as newHeaders } from '@nats-io/transport-node';

/** One request the test endpoint received. */
export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** performance.now() when the request's body had arrived. */
  readonly at: number;
  /** performance.now() when the client closed the connection, if it did. */
  closedAt?: number;
}

/** Answers a request; `res` may be left open (a hanging endpoint). */
export type Responder = (req: Received, res: ServerResponse, nth: number) => void;

/** A local HTTP endpoint that records every request and answers with `respond`. */
export interface TestEndpoint {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  respond: Responder;
  close(): Promise<void>;
}

/** Starts a recording endpoint on 127.0.0.1 (default answer: 200 `ok`). */
export async function startEndpoint(respond: Responder = (_r, res) => res.end('ok')): Promise<TestEndpoint> {
  const received: Received[] = [];
  // The latest request on each connection, to stamp when the client closed it.
  const latest = new WeakMap<object, Received>();
  let server: Server;
  const endpoint: TestEndpoint = {
    url: '',
    port: 0,
    received,
    respond,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: performance.now() };
      received.push(r);
      const socket = req.socket;
      if (!latest.has(socket)) {
        socket.once('close', () => {
          const last = latest.get(socket);
          if (last) last.closedAt = performance.now();
        });
      }
      latest.set(socket, r);
      endpoint.respond(r, res, received.length);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(endpoint, { url: `http://127.0.0.1:${port}/hook`, port });
}

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

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
