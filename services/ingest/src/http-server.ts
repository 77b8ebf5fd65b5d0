import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MSG_ID_HEADER, stageMsgId } from '@hookstream/contracts';
import type { SourceConfig } from '@hookstream/models';
import {
  type AckingPublisher,
  type ConfigCache,
  envelopeHeadroomBytes,
  injectTraceContext,
  inSpan,
  isPayloadTooLarge,
  type Logger,
  metrics,
  type ObsPublisher,
  type Topology,
} from '@hookstream/runtime';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { buildRawHeaders, capturedHeaderBytes } from './capture.ts';
import type { IngestConfig } from './config.ts';
import { uuidv7 } from './event-id.ts';
import { admit, sourceFromPath } from './handler.ts';
import { verifyInline } from './inline-verify.ts';
import { TokenBuckets } from './rate-limit.ts';

/** What the ingest HTTP server needs. */
export interface IngestServerDeps {
  readonly config: IngestConfig;
  readonly sources: ConfigCache<SourceConfig>;
  readonly publisher: AckingPublisher;
  /** Analytics records: one `received` per answer, and inline-verification rejections. */
  readonly obs: ObsPublisher;
  readonly topology: Topology;
  readonly natsConnected: () => boolean;
  /** The NATS server's `max_payload` now (it can change on a reconnect). */
  readonly maxPayload: () => number;
  readonly logger: Logger;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
}

/** Counters of answers by status, for tests and the metrics endpoint. */
export type StatusCounts = Record<number, number>;

/** A running ingest HTTP server. */
export interface IngestServer {
  readonly port: number;
  readonly counts: StatusCounts;
  /** Requests being read or waiting for a PubAck. */
  inFlight(): number;
  /**
   * Stops taking requests: new ones on open connections get 503 with
   * `connection: close`, in-flight ones finish (up to the grace period).
   * Resolves when every connection is closed. Never throws.
   */
  stop(): Promise<void>;
}

const JSON_TYPE = { 'content-type': 'application/json' } as const;

/** `hs.obs.received` records being published at once, at most; more are dropped and counted. */
const MAX_RECEIVED_IN_FLIGHT = 1_000;

/** What the `received` record of an answer says beyond its status and source. */
interface AnswerMeta {
  /** When the request arrived (epoch ms); the time of the answer when unset. */
  readonly receivedAtMs?: number;
  readonly bytes?: number;
  readonly eventId?: string;
  readonly reason?: string;
}

/**
 * Starts the webhook HTTP server: admission by {@link admit}, raw body read
 * with a size cap, publish to `hs.raw.{source}`, and 202 only after JetStream
 * has acknowledged the message. A request whose body is followed by bytes
 * that do not parse as a request (a Content-Length shorter than the body)
 * is answered 400 and nothing is stored. Metric labels are configured source
 * ids or `_unknown`, never the raw path. Resolves once listening.
 */
export async function startIngestServer(deps: IngestServerDeps): Promise<IngestServer> {
  const { config, sources, publisher, topology, logger } = deps;
  const now = deps.now ?? Date.now;
  const limiter = new TokenBuckets();
  const counts: StatusCounts = {};
  let inFlight = 0;
  let draining = false;

  const headroom = envelopeHeadroomBytes(config.maxHeaderBytes);
  // Sockets whose bytes after a request's body did not parse (see onRequest).
  const unparseable = new WeakSet<object>();
  // Sockets with an answer that closes the connection: node still hands over
  // requests pipelined behind it, but their answers would never be sent.
  const closing = new WeakSet<object>();
  const count = (source: string, status: number): void => {
    counts[status] = (counts[status] ?? 0) + 1;
    metrics.ingestRequests.inc({ source, status: String(status) });
  };
  // A label from a closed set: a configured source id, else `_unknown`, so
  // requests to random paths (any method, any status) add no series.
  const sourceLabel = (url: string | undefined): string => {
    const id = sourceFromPath(url ?? '');
    return id !== undefined && sources.get(id) !== undefined ? id : '_unknown';
  };
  const answer = (
    res: ServerResponse,
    status: number,
    body: string,
    headers?: Readonly<Record<string, string>>,
    meta: AnswerMeta = {},
  ): void => {
    count(sourceLabel(res.req.url), status);
    if (draining) res.setHeader('connection', 'close');
    if (res.getHeader('connection') === 'close') closing.add(res.req.socket);
    res.setHeader('content-length', Buffer.byteLength(body));
    res.writeHead(status, headers === undefined ? JSON_TYPE : { ...JSON_TYPE, ...headers });
    res.end(body);
    received(res.req.url, status, meta);
  };
  // The `received` record goes out after the answer and is never awaited: a
  // 2xx already means the event is durable, and analytics must neither delay
  // nor fail it. When NATS is down (503s) these fail too; debug, not warn,
  // so an outage does not log once per request.
  let receivedInFlight = 0;
  const received = (url: string | undefined, status: number, meta: AnswerMeta): void => {
    // A flood of refused requests (a scan, a sender ignoring 429) must not
    // turn into as many unbounded pending publishes: beyond the cap a record
    // is dropped and counted.
    if (receivedInFlight >= MAX_RECEIVED_IN_FLIGHT) {
      metrics.receivedRecordsDropped.inc({ why: 'in_flight' });
      return;
    }
    receivedInFlight++;
    const at = now();
    const eventId = meta.eventId ?? '';
    deps.obs
      .record('received', {
        kind: 'received',
        request_id: eventId === '' ? uuidv7(at) : eventId,
        // The path's id even when no such source is configured, so 404s for
        // a mistyped source are counted under it.
        source: (sourceFromPath(url ?? '') ?? '').slice(0, 256),
        status,
        reason: meta.reason ?? '',
        bytes: meta.bytes ?? 0,
        event_id: eventId,
        received_at: meta.receivedAtMs ?? at,
        at,
      })
      .catch((err: unknown) => {
        metrics.receivedRecordsDropped.inc({ why: 'publish_failed' });
        logger.debug({ err }, 'received record not stored');
      })
      .finally(() => {
        receivedInFlight--;
      });
  };
  const fail = (
    res: ServerResponse,
    status: number,
    error: string,
    headers?: Readonly<Record<string, string>>,
    meta: AnswerMeta = {},
  ): void => answer(res, status, JSON.stringify({ error }), headers, { ...meta, reason: error });
  const unavailable = { 'retry-after': String(config.unavailableRetryAfterSeconds) };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Pipelined behind an answer that closes the connection: neither stored
    // nor answered (node closes the connection once that answer is out).
    if (closing.has(req.socket)) return;
    // RFC 9112 §3.2; answered here rather than by node (requireHostHeader is
    // off) so that a request pipelined behind this 400 is not stored.
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      res.setHeader('connection', 'close');
      fail(res, 400, 'missing Host header');
      return;
    }
    const receivedAtMs = now();
    const lengthHeader = req.headers['content-length'];
    const decision = admit(
      {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        contentType: req.headers['content-type'],
        contentLength: lengthHeader === undefined ? undefined : Number(lengthHeader),
        capturedHeaderBytes: capturedHeaderBytes(req.rawHeaders, config.dropHeaders),
      },
      {
        source: (id) => sources.get(id),
        limiter,
        nowMs: receivedAtMs,
        defaultMaxBodyBytes: config.maxBodyBytes,
        maxBodyCeiling: deps.maxPayload() - headroom,
        maxHeaderBytes: config.maxHeaderBytes,
        canPublish: !draining && deps.natsConnected(),
        retryAfterSeconds: config.unavailableRetryAfterSeconds,
      },
    );
    if (decision.kind === 'reject') {
      // Do not read a body we refuse; close so the sender stops sending it.
      if (decision.status === 413 || decision.status === 431) res.setHeader('connection', 'close');
      fail(res, decision.status, decision.error, decision.headers, { receivedAtMs });
      return;
    }
    inFlight++;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        inFlight--;
      }
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > decision.maxBodyBytes) {
        res.setHeader('connection', 'close');
        fail(res, 413, `body over the limit of ${decision.maxBodyBytes} bytes`, undefined, { receivedAtMs, bytes: size });
        finish();
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => finish());
    req.on('aborted', () => finish());
    req.on('end', () => {
      if (done) return;
      // Bytes after the body that arrived with it are parsed at once; if they
      // are not a request, the Content-Length was shorter than the body and
      // what was read is a prefix. The clientError handler has answered 400;
      // store nothing. (Waiting one turn also sees bytes from later reads
      // that were already received.)
      if (unparseable.has(req.socket)) {
        finish();
        return;
      }
      setImmediate(() => {
        if (unparseable.has(req.socket)) {
          finish();
          return;
        }
        onBody();
      });
    });
    const onBody = (): void => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const eventId = uuidv7(receivedAtMs);
      if (decision.source.verifyInline === true) {
        const verdict = verifyInline(decision.source, body, req.headers, receivedAtMs);
        if (!verdict.ok) {
          answer(res, 401, JSON.stringify({ error: verdict.reason, detail: verdict.detail, id: eventId }), undefined, {
            receivedAtMs,
            bytes: body.length,
            eventId,
            reason: verdict.reason,
          });
          finish();
          deps.obs
            .record('rejection', {
              kind: 'rejection',
              stage: 'ingest',
              event_id: eventId,
              source: decision.source.id,
              reason: verdict.reason,
              detail: verdict.detail,
              received_at: receivedAtMs,
              at: now(),
            })
            .catch((err: unknown) => logger.warn({ err }, 'rejection record not stored'));
          return;
        }
      }
      const headers = buildRawHeaders({ eventId, sourceId: decision.source.id, receivedAtMs }, req.rawHeaders, config.dropHeaders);
      headers.set(MSG_ID_HEADER, stageMsgId(eventId, 'ingest'));
      // The root span of the webhook's trace; its context travels in `traceparent`.
      void inSpan(
        'ingest',
        'server',
        ROOT_CONTEXT,
        { 'hookstream.event_id': eventId, 'hookstream.source': decision.source.id },
        async (span) => {
          injectTraceContext(headers);
          try {
            await publisher.publish(topology.raw(decision.source.id), body, headers);
            span.setAttribute('http.response.status_code', 202);
            answer(res, 202, `{"id":"${eventId}"}`, undefined, { receivedAtMs, bytes: body.length, eventId });
          } catch (err) {
            if (isPayloadTooLarge(err)) {
              // Retrying cannot help; the ceiling should have caught it (a
              // server with a smaller max_payload than the one at start?).
              span.setAttribute('http.response.status_code', 413);
              logger.error({ err, source: decision.source.id, bytes: body.length }, 'message over the server max_payload; answering 413');
              fail(res, 413, `message over the NATS server's max_payload of ${deps.maxPayload()} bytes`, undefined, {
                receivedAtMs,
                bytes: body.length,
              });
            } else {
              span.setAttribute('http.response.status_code', 503);
              logger.warn({ err, source: decision.source.id }, 'publish not acknowledged; answering 503');
              fail(res, 503, 'temporarily unavailable', unavailable, { receivedAtMs, bytes: body.length });
            }
          } finally {
            finish();
          }
        },
      );
    };
  };

  const server: Server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.headersTimeoutMs / 2))),
      // Request line and header section (names and values); 431 beyond.
      maxHeaderSize: config.maxHeaderBytes,
      // onRequest answers a missing Host itself (see there).
      requireHostHeader: false,
    },
    onRequest,
  );
  // Keep-alive connections still close on their own under a steady load.
  server.maxRequestsPerSocket = config.maxRequestsPerSocket;
  // A sender may half-close after its request (shutdown(SHUT_WR)); node would
  // then end the socket and drop the answer to a body it is storing. Half-open
  // (node's long-standing, untyped switch, cf. squid's half_closed_clients),
  // the answer is written and the connection closed after it.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // Malformed requests and slow clients (headers or request timeout): answer
  // if the socket still takes writes, then close it for good.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    logger.debug({ code: err.code }, 'client error');
    // A parse error (not a reset): bytes on this connection that are not a request.
    if (err.code?.startsWith('HPE_') === true) unparseable.add(socket);
    if (socket.writable) {
      count('_unknown', Number(status.slice(0, 3)));
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
    } else {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.host, port }, 'ingest listening');

  return {
    port,
    counts,
    inFlight: () => inFlight,
    stop: async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + config.shutdownGraceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (inFlight > 0) logger.warn({ inFlight }, 'grace period over; closing connections with requests in flight');
      server.closeAllConnections();
      await closed;
    },
  };
}
