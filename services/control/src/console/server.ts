import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import { isRead, mayCall } from '@hookstream/contracts';
import type { Logger } from '@hookstream/runtime';
import { toServiceError } from '../errors.ts';
import type { Handlers } from '../handlers.ts';
import { callJson, httpStatusOf, methodOf } from './rpc-json.ts';
import { readStatic } from './static-files.ts';
import { authenticate, type Principal } from './users.ts';

/** Options for {@link startConsoleServer}. */
export interface ConsoleServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** The built console (index.html, app.js, app.css). */
  readonly root: string;
  /** Who may sign in; the control token is one of them (admin). */
  readonly principals: readonly Principal[];
  readonly handlers: Handlers;
  readonly logger: Logger;
}

/** A running console server. */
export interface ConsoleServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Largest JSON request body (as gRPC's receive limit). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Headers on every answer: a strict CSP (no inline script or style, same-origin only), no framing, no sniffing, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(httpStatus: number, code: string, message: string) {
    super(message);
    this.status = httpStatus;
    this.code = code;
  }
}

function sendJson(res: ServerResponse, httpStatus: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(httpStatus, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function sendError(res: ServerResponse, httpStatus: number, code: string, message: string): void {
  sendJson(res, httpStatus, { error: { code, message } }, httpStatus === 401 ? { 'www-authenticate': 'Bearer realm="hookstream"' } : {});
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the request as content-type: application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `the body is not JSON: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'the body must be a JSON object (the request message)');
  }
  return body;
}

/**
 * The web console over HTTP: the built single-page app as static files, and
 * a JSON API over the control plane's own handlers —
 * `GET /api/session` (who the bearer token belongs to) and
 * `POST /api/rpc/{Method}` (any ControlPlane RPC, proto3 JSON in and out,
 * gRPC status codes mapped to HTTP ones, `{"error":{"code","message"}}` on
 * failure). Every API call needs `authorization: Bearer <token>` of a known
 * principal whose role allows the RPC; calls that change something are
 * logged with the user. The static files carry no data and need no token.
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { handlers, logger, principals, root } = options;

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const principal = authenticate(req.headers.authorization, principals);
    if (principal === undefined) {
      sendError(res, 401, 'UNAUTHENTICATED', 'missing or unknown bearer token');
      return;
    }
    if (path === '/api/session') {
      if (req.method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET');
      sendJson(res, 200, { user: principal.user, role: principal.role });
      return;
    }
    const rpc = /^\/api\/rpc\/([^/]+)$/.exec(path);
    const method = rpc === null ? undefined : methodOf(rpc[1] as string);
    if (method === undefined) throw new HttpError(404, 'NOT_FOUND', `no such API: ${path}`);
    if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST');
    if (!mayCall(principal.role, method)) {
      throw new HttpError(403, 'PERMISSION_DENIED', `role ${principal.role} may not call ${rpc?.[1]}`);
    }
    const body = await readJsonBody(req);
    try {
      const answer = await callJson(handlers, method, body);
      if (!isRead(method)) logger.info({ user: principal.user, role: principal.role, method }, 'console call');
      sendJson(res, 200, answer);
    } catch (err) {
      const error = toServiceError(err);
      if (error.code === status.INTERNAL) logger.error({ err, method, user: principal.user }, 'console call failed');
      sendError(res, httpStatusOf(error.code), status[error.code] ?? 'UNKNOWN', error.details);
    }
  }

  async function files(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET');
    const answer = await readStatic(root, path);
    if (answer.kind !== 'file') {
      const [code, text] =
        answer.kind === 'not-built' ? [503, `the console is not built in ${root}: run \`make build\`\n`] : [404, 'not found\n'];
      res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const headers = { ...SECURITY_HEADERS, 'content-type': answer.contentType, 'cache-control': 'no-cache', etag: answer.etag };
    if (req.headers['if-none-match'] === answer.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': answer.body.length });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  // Timeouts are checked every second (node's default check is every 30 s).
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 60_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://console').pathname;
    const route = path === '/api' || path.startsWith('/api/') ? api(req, res, path) : files(req, res, path);
    route.catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendError(res, err.status, err.code, err.message);
      else {
        logger.error({ err, path }, 'console request failed');
        sendError(res, 500, 'INTERNAL', 'internal error (see the control service log)');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
