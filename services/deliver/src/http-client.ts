import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import type { AddressGuard } from './ssrf.ts';

/** One POST to an endpoint. */
export interface SendRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Deadline for the whole exchange: connect, headers and reading the body. */
  readonly timeoutMs: number;
}

/** What came back: an HTTP response, or an error before one was complete. */
export type SendResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly retryAfter: string | undefined;
      /** The first {@link EXCERPT_BYTES} of the body, as text. */
      readonly excerpt: string;
      readonly latencyMs: number;
    }
  | { readonly kind: 'error'; readonly error: unknown; readonly timedOut: boolean; readonly latencyMs: number };

/** Sends POSTs to endpoints. `send` never rejects: failures are {@link SendResult}s. */
export interface HttpSender {
  send(req: SendRequest): Promise<SendResult>;
  close(): Promise<void>;
}

/** Bytes of a response body kept for the attempt record. */
export const EXCERPT_BYTES = 1024;
// Past this much body the connection is dropped rather than drained.
const DRAIN_LIMIT_BYTES = 64 * 1024;

type Connector = ReturnType<typeof buildConnector>;

/**
 * An undici connector that vets every new connection with the guard: the
 * host is resolved once, every answer must be allowed, and the socket is
 * opened to that vetted address (the TLS servername and the Host header keep
 * the name), so a DNS answer that changes between the check and the connect
 * (a rebind) is never used. A refused host fails the connect with
 * BlockedAddressError before any socket is opened.
 */
export function guardedConnector(guard: AddressGuard, base: Connector = buildConnector({})): Connector {
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    guard.vet(host).then(
      (vetted) => {
        const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
        base({ ...options, hostname: vetted.address, ...(servername !== undefined ? { servername } : {}) }, callback);
      },
      (err: Error) => callback(err, null),
    );
  };
}

/**
 * {@link HttpSender} on an undici Agent (keep-alive pools per origin) whose
 * connections go through {@link guardedConnector}. Redirects are not
 * followed. Each request has one deadline for the whole exchange; the body
 * is read up to {@link EXCERPT_BYTES} for the record, drained up to 64 KiB to
 * keep the connection, and dropped past that.
 */
export class GuardedHttpClient implements HttpSender {
  readonly #agent: Agent;

  constructor(guard: AddressGuard, options: { readonly connectTimeoutMs?: number } = {}) {
    this.#agent = new Agent({
      connect: guardedConnector(guard, buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 })),
      keepAliveTimeout: 30_000,
      // Our own deadline covers headers and body; these are only backstops.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no complete response within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    try {
      const res = await request(req.url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: controller.signal,
        dispatcher: this.#agent,
      });
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let total = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (keptBytes < EXCERPT_BYTES) {
          const part = chunk.subarray(0, EXCERPT_BYTES - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        if (total > DRAIN_LIMIT_BYTES) {
          res.body.destroy();
          break;
        }
      }
      const retryAfter = res.headers['retry-after'];
      return {
        kind: 'response',
        status: res.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        excerpt: Buffer.concat(kept).toString('utf8'),
        latencyMs: performance.now() - started,
      };
    } catch (error) {
      return { kind: 'error', error, timedOut, latencyMs: performance.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes pooled connections; resolves when they are closed. */
  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}
