import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { duplicateNoteKey, Header } from '@hookstream/contracts';
import { decodeDuplicateNote, EndpointStore, SchemaStore, SourceStore } from '@hookstream/models';
import { type NatsHandle, openBucket, secretBoxFromEnv, topology } from '@hookstream/runtime';
import {
  connectTestNats,
  freePort,
  httpRequest,
  type NatsServer,
  startEndpoint,
  startNatsServer,
  storedMessages,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import fc from 'fast-check';
import { type ServiceProcess, startService } from '../e2e/processes.ts';
import {
  describeCase,
  expectedFate,
  expectedStatuses,
  type Fate,
  type FuzzCase,
  fuzzCase,
  type HttpCase,
  pathOf,
  type RawCase,
  requestHeaders,
  SMALL_LIMIT,
  STRICT_SCHEMA,
  STRICT_TYPE,
  STRIPE_SECRET,
} from './inputs.ts';

// Scenario: fast-check generates requests to ingest (random bytes, JSON,
// event-shaped bodies, strict-schema events with known breaks, deep nesting,
// non-UTF-8, form bodies, bodies of up to 400 KB and around a source's
// limit; random, garbage and parameterised content types; random header
// names and values, oversized header sections; existing, unknown, disabled
// and oddly encoded sources and paths; good, stale, forged and garbage Stripe
// signatures; chunked bodies; repeats) and raw socket bytes (hostile header
// bytes, lying or conflicting Content-Length, broken chunked framing,
// pipelined requests). Every service runs as a real process. Each answer
// must be what ingest's admission rules say (never a 5xx); afterwards every
// stage drains and every 202 is accounted for: on events.* (and at the
// subscriber), dead-lettered with a reason, or dropped by dedup as a
// duplicate with a note, and where the model knows the fate, that fate.
// FUZZ_RUNS (default 300; `make fuzz` runs 10,000) and FUZZ_SEED (default 17) reproduce a run.

const RUNS = Number(process.env.FUZZ_RUNS ?? '300');
const SEED = Number(process.env.FUZZ_SEED ?? '17');
const MASTER_KEY = randomBytes(32).toString('base64');
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const t = topology('fuzz');
const STAGES = ['ingest', 'verify', 'dedup', 'validate', 'route', 'deliver'] as const;
const REPRODUCE = `FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`;
const DOOR_SOURCE = 'door';
/** Ingest's HS_INGEST_REQUEST_TIMEOUT_MS here; a raw connection still open 5 s after it counts as hung. */
const REQUEST_TIMEOUT_MS = 2_000;

/** What one request got: a status and the event id of a 202, or a socket error. */
type Answer =
  | { readonly kind: 'status'; readonly status: number; readonly id?: string }
  | { readonly kind: 'error'; readonly code: string };

/** An accepted event and the input that made it. */
interface Accepted {
  readonly id: string;
  readonly input: FuzzCase;
  readonly fate: Fate;
}

/** Sends an HTTP case once on a fresh connection; never rejects. */
function sendHttp(port: number, c: HttpCase): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: pathOf(c.target),
        method: c.method,
        // Framing is explicit: node sends a GET's body with neither header otherwise.
        headers: {
          ...requestHeaders(c, Math.floor(Date.now() / 1000)),
          ...(c.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(c.body.bytes.length) }),
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'error', code: err.code ?? err.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status !== 202) return resolve({ kind: 'status', status });
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
          resolve({ kind: 'status', status, id: body.id });
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'error', code: err.code ?? err.message }));
    const body = c.body.bytes;
    if (c.chunked && body.length > 1) {
      req.write(body.subarray(0, body.length >> 1));
      req.end(body.subarray(body.length >> 1));
    } else {
      req.end(body);
    }
  });
}

/** One HTTP response parsed from a raw byte stream. */
interface RawResponse {
  readonly status: number;
  readonly body: string;
}

/** Splits what the server wrote into responses (status line, headers, Content-Length body). */
function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const head = data.subarray(at, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    at = end + 4;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      // node's own answers (e.g. 400 for a missing Host) come chunked.
      const parts: Buffer[] = [];
      for (;;) {
        const line = data.indexOf('\r\n', at);
        const size = line === -1 ? 0 : Number.parseInt(data.subarray(at, line).toString('latin1'), 16);
        if (line === -1 || !(size > 0)) {
          at = line === -1 ? data.length : line + 4;
          break;
        }
        parts.push(data.subarray(line + 2, line + 2 + size));
        at = line + 2 + size + 2;
      }
      out.push({ status, body: Buffer.concat(parts).toString() });
    } else {
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      out.push({ status, body: data.subarray(at, at + length).toString() });
      at += length;
    }
  }
  return out;
}

/** Writes a raw case, half-closes, and reads until the server closes (or ingest's request timeout + 5 s pass: `hung`). */
function sendRaw(port: number, c: RawCase): Promise<{ responses: RawResponse[]; hung: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(c.bytes));
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      socket.destroy();
    }, REQUEST_TIMEOUT_MS + 5_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined); // a reset after the server answered and closed
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ responses: parseResponses(Buffer.concat(chunks)), hung });
    });
  });
}

describe('fuzz: hostile input through the whole pipeline', () => {
  let server: NatsServer;
  let client: NatsHandle;
  let jsm: JetStreamManager;
  let everything: TestEndpoint;
  let filtered: TestEndpoint;
  const services = new Map<string, ServiceProcess>();
  let ingestPort = 0;

  before(async () => {
    server = await startNatsServer();
    client = await connectTestNats(server.url);
    jsm = await jetstreamManager(client.nc);
    const box = secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY });
    const sources = new SourceStore(await openBucket(client.nc, t.buckets.sources, { replicas: 1 }), box);
    await sources.put({ id: 'open', scheme: { kind: 'none' }, contentTypes: ['*/*'] });
    await sources.put({ id: 'plain', scheme: { kind: 'none' } });
    await sources.put({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: STRIPE_SECRET }] });
    await sources.put({ id: 'strict', scheme: { kind: 'none' }, schemaMode: 'strict', requireSchema: true });
    await sources.put({ id: 'small', scheme: { kind: 'none' }, contentTypes: ['*/*'], maxBodyBytes: SMALL_LIMIT });
    await sources.put({ id: 'off', scheme: { kind: 'none' }, contentTypes: ['*/*'], enabled: false });
    // The door tests' own source, so the fuzz ledger can leave their events out.
    await sources.put({ id: DOOR_SOURCE, scheme: { kind: 'none' } });
    await new SchemaStore(await openBucket(client.nc, t.buckets.schemas, { replicas: 1 })).put(
      'strict',
      STRICT_TYPE,
      STRICT_SCHEMA as unknown as Record<string, unknown>,
    );
    // One subscriber to everything, one behind a CEL filter that random data makes fail at run time.
    everything = await startEndpoint();
    filtered = await startEndpoint();
    const endpoints = new EndpointStore(await openBucket(client.nc, t.buckets.endpoints, { replicas: 1 }), box);
    await endpoints.put({ id: 'everything', url: everything.url, secrets: [{ id: 'k1', value: ENDPOINT_SECRET }] });
    await endpoints.put({
      id: 'filtered',
      url: filtered.url,
      secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
      filter: 'type.startsWith("order.") && data.amount > 100',
    });
    ingestPort = await freePort();
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: 'fuzz', HS_MASTER_KEY: MASTER_KEY, HS_LOG_LEVEL: 'error' };
    const extra: Record<string, Record<string, string>> = {
      // Short request timeouts: a raw request that ingest neither answers nor
      // closes within them (plus slack) is a hang, not a slow sender.
      ingest: {
        HS_INGEST_PORT: String(ingestPort),
        HS_INGEST_HOST: '127.0.0.1',
        HS_INGEST_HEADERS_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS / 2),
        HS_INGEST_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      },
      deliver: { HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' },
    };
    for (const name of STAGES) services.set(name, await startService(name, { ...env, ...extra[name] }));
  });

  after(async () => {
    for (const s of services.values()) await s.kill();
    await everything?.close();
    await filtered?.close();
    await client?.drain();
    await server?.stop();
  });

  it('ingest: a sender that half-closes after its request still gets the 202 of the event it stored', async () => {
    // Scenario: found by this suite (FUZZ_SEED=2). A complete request followed
    // by the client's FIN (shutdown(SHUT_WR), as `nc -N` and some proxies do)
    // was stored and processed, but node aborted the response: the sender saw a
    // closed connection for an event the pipeline had taken.
    for (const framing of ['Content-Length: 2\r\n\r\n{}', 'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n']) {
      const bytes = Buffer.from(
        `POST /v1/webhooks/${DOOR_SOURCE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}`,
      );
      const { responses, hung } = await sendRaw(ingestPort, { kind: 'raw', bytes, label: 'half-close' });
      assert.equal(hung, false);
      assert.deepEqual(
        responses.map((r) => r.status),
        [202],
        framing,
      );
      const id = (JSON.parse((responses[0] as RawResponse).body) as { id: string }).id;
      const stored = await storedMessages(jsm, t.streams.raw, t.raw(DOOR_SOURCE));
      assert.ok(
        stored.some((m) => m.header.get(Header.eventId) === id),
        'the answered id is the stored one',
      );
    }
  });

  it('ingest: a request pipelined behind an answer that closes the connection is neither stored nor answered', async () => {
    // Scenario: found by this suite (FUZZ_SEED=99 FUZZ_RUNS=3000). Behind
    // node's 400 for a missing Host, or ingest's own 413, a pipelined request
    // was still handed to ingest and stored, though its 202 could never be
    // sent: an event the sender was never told about.
    const over = 'x'.repeat(SMALL_LIMIT + 1);
    const firsts = {
      'missing Host': 'GET / HTTP/1.1\r\n\r\n',
      'declared body over the limit': `POST /v1/webhooks/small HTTP/1.1\r\nHost: a\r\nContent-Length: ${over.length}\r\n\r\n${over}`,
    };
    for (const [what, first] of Object.entries(firsts)) {
      const marker = randomBytes(8).toString('hex');
      const second = `{"type":"pipelined","marker":"${marker}"}`;
      const bytes = Buffer.from(
        `${first}POST /v1/webhooks/${DOOR_SOURCE} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${second.length}\r\n\r\n${second}`,
      );
      const { responses, hung } = await sendRaw(ingestPort, { kind: 'raw', bytes, label: what });
      assert.equal(hung, false);
      assert.deepEqual(
        responses.map((r) => r.status),
        [what === 'missing Host' ? 400 : 413],
        what,
      );
      // A later request's message is stored after anything the pipelined one
      // could have published (one NATS connection publishes in order).
      const sentinel = await httpRequest({
        port: ingestPort,
        path: `/v1/webhooks/${DOOR_SOURCE}`,
        method: 'POST',
        body: '{"type":"sentinel"}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(sentinel.status, 202);
      const stored = await storedMessages(jsm, t.streams.raw, t.raw(DOOR_SOURCE));
      assert.equal(
        stored.some((m) => m.string().includes(marker)),
        false,
        `${what}: the pipelined request was not stored`,
      );
    }
  });

  it('fuzz: every input ends as a 202 and an event, a 4xx at the door, or a dead letter with a reason', {
    timeout: 120_000 + RUNS * 1_000,
  }, async () => {
    console.log(`fuzz: seed ${SEED}, ${RUNS} runs (reproduce with ${REPRODUCE})`);
    const started = performance.now();
    const accepted: Accepted[] = [];
    // Raw requests and their answers: the suspects if anything is stored without a 202.
    const rawSent: { input: RawCase; statuses: number[] }[] = [];
    const hangs: string[] = [];
    const statuses = new Map<string, number>();
    const tally = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);

    const property = fc.asyncProperty(fuzzCase, async (c) => {
      if (c.kind === 'raw') {
        const { responses, hung } = await sendRaw(ingestPort, c);
        // Not thrown: shrinking would wait out each hang again; reported with the ledger.
        if (hung) hangs.push(`ingest neither answered nor closed the connection within its request timeout + 5 s: ${describeCase(c)}`);
        rawSent.push({ input: c, statuses: responses.map((r) => r.status) });
        if (responses.length === 0) tally('raw:closed-without-answer');
        for (const r of responses) {
          tally(`raw:${r.status}`);
          assert.ok(r.status >= 100 && r.status < 500, `raw request answered ${r.status}`);
          if (r.status === 202) accepted.push({ id: (JSON.parse(r.body) as { id: string }).id, input: c, fate: { kind: 'unknown' } });
        }
        return;
      }
      const allowed = expectedStatuses(c);
      for (let i = 0; i < c.times; i++) {
        const answer = await sendHttp(ingestPort, c);
        if (answer.kind === 'error') {
          tally(`error:${answer.code}`);
          // The server may close while a refused body or header section is still being written.
          assert.ok(allowed.includes(413) || allowed.includes(431), `socket error ${answer.code}; expected ${allowed.join(' or ')}`);
          continue;
        }
        tally(String(answer.status));
        assert.ok(answer.status < 500, `answered ${answer.status}`);
        assert.ok(allowed.includes(answer.status), `answered ${answer.status}; expected ${allowed.join(' or ')}`);
        if (answer.id !== undefined) accepted.push({ id: answer.id, input: c, fate: expectedFate(c) });
      }
    });
    await fc.assert(property, { numRuns: RUNS, seed: SEED });
    const sent = performance.now();

    // Quiescence: every consumer on every stream has nothing pending or unacked.
    let lastSeen = '';
    await waitFor(
      'every stage to drain',
      async () => {
        lastSeen = '';
        let busy = false;
        for (const stream of Object.values(t.streams)) {
          for await (const info of jsm.consumers.list(stream)) {
            const left = info.num_pending + info.num_ack_pending;
            if (left > 0) {
              busy = true;
              lastSeen += `${stream}/${info.name}: ${info.num_pending} pending, ${info.num_ack_pending} unacked; `;
            }
          }
        }
        return busy ? undefined : true;
      },
      120_000,
      250,
    ).catch(async (err: unknown) => {
      // Name what is stuck: the messages left in the work queues and the inputs that made them.
      const left = [...(await storedMessages(jsm, t.streams.pipe)), ...(await storedMessages(jsm, t.streams.delivery))].map((m) => {
        const id = m.header.get(Header.eventId);
        const input = accepted.find((a) => a.id === id)?.input;
        return `${m.subject} ${id}: ${input === undefined ? JSON.stringify(m.string().slice(0, 200)) : describeCase(input)}`;
      });
      throw new Error(`${(err as Error).message} (${REPRODUCE}); last seen: ${lastSeen}; left: ${left.join(' | ')}`);
    });
    const stuck = (await jsm.streams.info(t.streams.pipe)).state.messages + (await jsm.streams.info(t.streams.delivery)).state.messages;
    assert.equal(stuck, 0, 'nothing is left in the work-queue streams (HS_PIPE, HS_DELIVERY)');

    // Every service is still running and healthy.
    for (const s of services.values()) {
      assert.equal(s.child.exitCode, null, `${s.name} is still running`);
      assert.equal(s.child.signalCode, null, `${s.name} was not killed`);
      assert.equal((await httpRequest({ port: s.healthPort, path: '/healthz' })).status, 200, `${s.name} is healthy`);
    }

    // The ledger.
    const byId = (msgs: StoredMsg[]) => {
      const out = new Map<string, StoredMsg[]>();
      for (const m of msgs) {
        const id = m.header.get(Header.eventId);
        out.set(id, [...(out.get(id) ?? []), m]);
      }
      return out;
    };
    const raw = byId((await storedMessages(jsm, t.streams.raw)).filter((m) => m.subject !== t.raw(DOOR_SOURCE)));
    const events = byId(await storedMessages(jsm, t.streams.events));
    const dlq = byId(await storedMessages(jsm, t.streams.dlq));
    const delivered = new Set(everything.received.map((r) => String(r.headers['webhook-id'])));
    const dedup = await new Kvm(client.nc).open(t.buckets.dedup);
    const problems: string[] = [...hangs];
    const ends = new Map<string, number>();
    const end = (key: string) => ends.set(key, (ends.get(key) ?? 0) + 1);
    const acceptedIds = new Set(accepted.map((a) => a.id));
    for (const [id, msgs] of raw) {
      if (!acceptedIds.has(id)) {
        const m = msgs[0] as StoredMsg;
        const headers = [...m.header.keys()].map((k) => `${k}: ${JSON.stringify(m.header.get(k))}`).join(', ');
        problems.push(
          `stored in HS_RAW without a 202: ${m.subject} ${m.data.length} bytes ${JSON.stringify(m.string().slice(0, 120))} headers [${headers}]; ` +
            `raw inputs holding that body: ${
              rawSent
                .filter((r) => m.data.length > 0 && r.input.bytes.includes(Buffer.from(m.data)))
                .map((r) => `${describeCase(r.input)} answered [${r.statuses.join(', ')}]`)
                .join(' | ') || 'none'
            }`,
        );
      }
    }
    for (const a of accepted) {
      const say = (what: string) => problems.push(`${a.id} ${what}; input: ${describeCase(a.input)}`);
      const onEvents = events.get(a.id) ?? [];
      const deadLetters = dlq.get(a.id) ?? [];
      const noteEntry = await dedup.get(duplicateNoteKey(a.id));
      const note = noteEntry?.operation === 'PUT' ? decodeDuplicateNote(noteEntry.value) : undefined;
      if (!raw.has(a.id)) say('got 202 but is not in HS_RAW');
      if (onEvents.length > 1) say(`is on events.* ${onEvents.length} times`);
      for (const d of deadLetters) {
        if (d.header.get(Header.dlqReason) === '') say(`has a dead letter without a reason (${d.subject})`);
      }
      const eventDeadLetters = deadLetters.filter(
        (d) => d.header.get(Header.dlqStage) !== 'route' && d.header.get(Header.dlqStage) !== 'deliver',
      );
      if (onEvents.length === 0 && deadLetters.length === 0 && note === undefined)
        say('is nowhere: not on events.*, not dead-lettered, no duplicate note');
      if (onEvents.length > 0 && eventDeadLetters.length > 0) {
        say(`is on events.* and dead-lettered by ${eventDeadLetters.map((d) => d.header.get(Header.dlqStage)).join(',')}`);
      }
      if (onEvents.length > 0 && !delivered.has(a.id) && !deadLetters.some((d) => d.header.get(Header.dlqStage) === 'deliver')) {
        say('is on events.* but reached neither the subscriber nor a deliver dead letter');
      }
      if (a.fate.kind === 'events') {
        const type = onEvents[0]?.header.get(Header.eventType);
        if (onEvents.length === 0 && note === undefined) {
          say(`should be on events.* as ${JSON.stringify(a.fate.eventType)} but was dead-lettered: ${reasons(deadLetters)}`);
        } else if (onEvents.length > 0 && type !== a.fate.eventType) {
          say(`is on events.* with type ${JSON.stringify(type)}, expected ${JSON.stringify(a.fate.eventType)}`);
        }
      }
      if (a.fate.kind === 'dead-letter') {
        if (onEvents.length > 0) say(`should have been dead-lettered by ${a.fate.stage} but is on ${onEvents[0]?.subject}`);
        const stage = a.fate.stage;
        if (stage !== undefined && note === undefined && !deadLetters.some((d) => d.header.get(Header.dlqStage) === stage)) {
          say(`should have been dead-lettered by ${stage}; dead letters: ${reasons(deadLetters)}`);
        }
      }
      end(
        onEvents.length > 0
          ? 'events.*'
          : note !== undefined
            ? 'duplicate'
            : `dlq:${deadLetters[0]?.header.get(Header.dlqStage)}/${deadLetters[0]?.header.get(Header.dlqReason)}`,
      );
    }
    const routeDeadLetters = [...dlq.values()].flat().filter((d) => d.header.get(Header.dlqStage) === 'route').length;
    // The filtered subscriber got only events that are on events.*.
    for (const r of filtered.received) {
      const id = String(r.headers['webhook-id']);
      if (!events.has(id)) problems.push(`${id} reached the filtered subscriber but is not on events.*`);
    }

    const fmt = (m: Map<string, number>) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    console.log(
      `fuzz: ${RUNS} runs in ${Math.round(sent - started)} ms, drained and checked in ${Math.round(performance.now() - sent)} ms; ` +
        `answers: ${fmt(statuses)}; ${accepted.length} accepted ended as: ${fmt(ends)}; ` +
        `route dead-lettered ${routeDeadLetters} (filter errors on random data, the event still on events.*); ` +
        `subscribers got ${everything.received.length} (everything) and ${filtered.received.length} (filtered)`,
    );
    assert.deepEqual(problems, [], `ledger problems (${REPRODUCE})`);
  });
});

function reasons(deadLetters: StoredMsg[]): string {
  if (deadLetters.length === 0) return 'none';
  return deadLetters
    .map((d) => `${d.header.get(Header.dlqStage)}/${d.header.get(Header.dlqReason)}: ${d.header.get(Header.dlqDetail)}`)
    .join('; ');
}
