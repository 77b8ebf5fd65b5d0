import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AckingPublisher,
  type ConfigCache,
  injectTraceContext,
  inSpan,
  type Logger,
  metrics,
  type ObsPublisher,
  type SourceConfig,
  stageMsgId,
  type Topology,
} from '@hookstream/runtime';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { buildRawHeaders } from './capture.ts';
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
  /** Analytics records (inline-verification rejections). */
  readonly obs: ObsPublisher;
  readonly topology: Topology;
  readonly natsConnected: () => boolean;
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

const MSG_ID = 'Nats-Msg-Id';
const JSON_TYPE = { 'content-type': 'application/json' } as const;

/**
 * Starts the webhook HTTP server: admission by {@link admit}, raw body read
 * with a size cap, publish to `hs.raw.{source}`, and 202 only after JetStream
 * has acknowledged the message. Resolves once listening.
 */
export async function startIngestServer(deps: IngestServerDeps): Promise<IngestServer> {
  const { config, sources, publisher, topology, logger } = deps;
  const now = deps.now ?? Date.now;
  const limiter = new TokenBuckets();
  const counts: StatusCounts = {};
  let inFlight = 0;
  let draining = false;

  const answer = (res: ServerResponse, status: number, body: string, headers?: Readonly<Record<string, string>>): void => {
    counts[status] = (counts[status] ?? 0) + 1;
    // Unknown sources are one label, so a scan of random paths cannot blow up the series.
    const source = status === 404 ? '_unknown' : (sourceFromPath(res.req.url ?? '') ?? '_');
    metrics.ingestRequests.inc({ source, status: String(status) });
    if (draining) res.setHeader('connection', 'close');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.writeHead(status, headers === undefined ? JSON_TYPE : { ...JSON_TYPE, ...headers });
    res.end(body);
  };
  const fail = (res: ServerResponse, status: number, error: string, headers?: Readonly<Record<string, string>>): void =>
    answer(res, status, JSON.stringify({ error }), headers);
  const unavailable = { 'retry-after': String(config.unavailableRetryAfterSeconds) };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const receivedAtMs = now();
    const lengthHeader = req.headers['content-length'];
    const decision = admit(
      {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        contentType: req.headers['content-type'],
        contentLength: lengthHeader === undefined ? undefined : Number(lengthHeader),
      },
      {
        source: (id) => sources.get(id),
        limiter,
        nowMs: receivedAtMs,
        defaultMaxBodyBytes: config.maxBodyBytes,
        canPublish: !draining && deps.natsConnected(),
        retryAfterSeconds: config.unavailableRetryAfterSeconds,
      },
    );
    if (decision.kind === 'reject') {
      // Do not read a body we refuse; close so the sender stops sending it.
      if (decision.status === 413) res.setHeader('connection', 'close');
      fail(res, decision.status, decision.error, decision.headers);
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
        fail(res, 413, `body over the limit of ${decision.maxBodyBytes} bytes`);
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
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const eventId = uuidv7(receivedAtMs);
      if (decision.source.verifyInline === true) {
        const verdict = verifyInline(decision.source, body, req.headers, receivedAtMs);
        if (!verdict.ok) {
          answer(res, 401, JSON.stringify({ error: verdict.reason, detail: verdict.detail, id: eventId }));
          finish();
          deps.obs
            .record(
              'rejection',
              {
                kind: 'rejection',
                stage: 'ingest',
                event_id: eventId,
                source: decision.source.id,
                reason: verdict.reason,
                detail: verdict.detail,
                received_at: receivedAtMs,
                at: now(),
              },
              `${eventId}:obs:rejection:ingest`,
            )
            .catch((err: unknown) => logger.warn({ err }, 'rejection record not stored'));
          return;
        }
      }
      const headers = buildRawHeaders({ eventId, sourceId: decision.source.id, receivedAtMs }, req.rawHeaders, config.dropHeaders);
      headers.set(MSG_ID, stageMsgId(eventId, 'ingest'));
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
            answer(res, 202, `{"id":"${eventId}"}`);
          } catch (err) {
            span.setAttribute('http.response.status_code', 503);
            logger.warn({ err, source: decision.source.id }, 'publish not acknowledged; answering 503');
            fail(res, 503, 'temporarily unavailable', unavailable);
          } finally {
            finish();
          }
        },
      );
    });
  };

  const server: Server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.headersTimeoutMs / 2))),
    },
    onRequest,
  );
  // Keep-alive connections still close on their own under a steady load.
  server.maxRequestsPerSocket = config.maxRequestsPerSocket;
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
    if (socket.writable) {
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
