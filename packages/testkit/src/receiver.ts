import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
