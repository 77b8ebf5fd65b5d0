import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { deadLetterReplayId, Header, replayMsgId } from '@hookstream/contracts';
import { headerValue, replayedHeaders, sanitizeToken, type Topology } from '@hookstream/runtime';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { invalid, RpcError } from './errors.ts';
import type { Page } from './records.ts';

/** Which dead letters a list, replay or purge applies to; '' matches anything. */
export interface DeadLetterMatch {
  readonly stage: string;
  readonly source: string;
  readonly endpoint: string;
  readonly reason: string;
  /** Dead-lettered at or after this (epoch ms); 0 or absent: open. */
  readonly sinceMs?: number;
  /** Dead-lettered before this (epoch ms); 0 or absent: open. */
  readonly untilMs?: number;
}

/** What {@link DeadLetters.summarize} found. */
export interface DeadLetterSummary {
  readonly total: number;
  readonly byReason: Readonly<Record<string, number>>;
  /** Every reason of the dead letters read (matching or not), sorted. */
  readonly reasons: readonly string[];
  /** The DLQ holds more than were read. */
  readonly truncated: boolean;
}

/** What one replay did. */
export interface Replayed {
  readonly sequence: number;
  readonly subject: string;
  readonly msgId: string;
  readonly duplicate: boolean;
}

// Sequences read per round trip batch, and at most per list call, so that a
// large DLQ answers in bounded time (the caller continues from the token).
const READ_BATCH = 64;
const MAX_SCAN = 20_000;

/** True when a filter matches nothing in particular. Pure. */
export function isEmptyMatch(m: DeadLetterMatch): boolean {
  return m.stage === '' && m.source === '' && m.endpoint === '' && m.reason === '' && !hasTimeRange(m);
}

/** True when a filter limits when the dead letters were made. Pure. */
function hasTimeRange(m: DeadLetterMatch): boolean {
  return (m.sinceMs ?? 0) > 0 || (m.untilMs ?? 0) > 0;
}

/**
 * Whether a dead letter (its DLQ subject relative to the namespace and its
 * headers) matches a filter. The endpoint of a deliver dead letter is also
 * its subject's last token; its time is `hs-dlq-at`, else `storedAtMs`
 * (when the DLQ stored it). Pure.
 */
export function matches(localSubject: string, header: (name: string) => string | undefined, m: DeadLetterMatch, storedAtMs = 0): boolean {
  if (hasTimeRange(m)) {
    const at = Number(header(Header.dlqAt)) || storedAtMs;
    if ((m.sinceMs ?? 0) > 0 && at < (m.sinceMs ?? 0)) return false;
    if ((m.untilMs ?? 0) > 0 && at >= (m.untilMs ?? 0)) return false;
  }
  const [, , stage = '', key = ''] = localSubject.split('.');
  if (m.stage !== '' && stage !== m.stage) return false;
  if (m.source !== '' && header(Header.source) !== m.source) return false;
  if (m.endpoint !== '' && header(Header.endpointId) !== m.endpoint && !(stage === 'deliver' && key === m.endpoint)) return false;
  if (m.reason !== '' && header(Header.dlqReason) !== m.reason) return false;
  return true;
}

/**
 * The headers a replay carries: the dead letter's, without the `hs-dlq-*`
 * ones the DLQ added, the `Nats-*` ones JetStream set and deliver's progress
 * headers (a replayed task starts again at attempt 1), plus `hs-replay:
 * dlq-{sequence}` and `hs-replayed-at` (runtime `replayedHeaders`). Pure.
 */
export function replayHeaders(msg: Pick<StoredMsg, 'header' | 'seq'>, nowMs: number): MsgHdrs {
  return replayedHeaders(msg.header, deadLetterReplayId(msg.seq), nowMs);
}

/**
 * The HS_DLQ stream as the control plane sees it: dead letters by stream
 * sequence, listed and filtered by scanning, replayed to the subject they
 * were consumed from, purged.
 */
export class DeadLetters {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #t: Topology;

  constructor(js: JetStreamClient, jsm: JetStreamManager, t: Topology) {
    this.#js = js;
    this.#jsm = jsm;
    this.#t = t;
  }

  /**
   * Dead letters waiting per (stage, key) from the stream's per-subject
   * counts: the key is the endpoint for `deliver`, the source for every other
   * stage (`hs.dlq.{stage}.{key}`).
   */
  async counts(): Promise<{ readonly stage: string; readonly key: string; readonly count: number }[]> {
    const prefix = this.#t.subject('hs.dlq.');
    const info = await this.#jsm.streams.info(this.#t.streams.dlq, { subjects_filter: `${prefix}>` });
    const counts: { stage: string; key: string; count: number }[] = [];
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const [stage = '', key = ''] = subject.slice(prefix.length).split('.');
      counts.push({ stage, key, count });
    }
    return counts;
  }

  /** One dead letter. Throws NOT_FOUND. */
  async get(sequence: number): Promise<StoredMsg> {
    if (!Number.isSafeInteger(sequence) || sequence <= 0) throw invalid('sequence', 'must be a DLQ stream sequence (a whole number > 0)');
    const msg = await this.#jsm.streams.getMessage(this.#t.streams.dlq, { seq: sequence });
    if (msg === null) throw new RpcError(status.NOT_FOUND, `dead letter ${sequence} not found`);
    return msg;
  }

  /**
   * A page of matching dead letters from sequence `token`: oldest first, or
   * with `newestFirst` from the newest down (the token is then the sequence
   * to continue below); `next` is '' at the end.
   */
  async list(match: DeadLetterMatch, size: number, token: string, newestFirst = false): Promise<Page<StoredMsg>> {
    const from = token === '' ? 0 : Number(token);
    if (!Number.isSafeInteger(from) || from < 0) throw invalid('page_token', 'is not a token from a previous page');
    const items: StoredMsg[] = [];
    const visit = (msg: StoredMsg): boolean => {
      items.push(msg);
      return items.length < size;
    };
    const next = newestFirst ? await this.#scanBack(match, from, MAX_SCAN, visit) : await this.#scan(match, from, MAX_SCAN, visit);
    return { items, next: next === undefined ? '' : String(next) };
  }

  /**
   * Counts the dead letters matching `match` by reason, reading at most the
   * newest {@link MAX_SCAN} (`truncated` when there were more), and the
   * reasons of every dead letter read.
   */
  async summarize(match: DeadLetterMatch): Promise<DeadLetterSummary> {
    const byReason: Record<string, number> = {};
    const reasons = new Set<string>();
    let total = 0;
    const any: DeadLetterMatch = { stage: '', source: '', endpoint: '', reason: '' };
    const next = await this.#scanBack(any, 0, MAX_SCAN, (msg) => {
      const reason = headerValue(msg.header, Header.dlqReason) ?? '';
      if (reason !== '') reasons.add(reason);
      if (matches(this.#t.local(msg.subject), (name) => headerValue(msg.header, name), match, msg.time.getTime())) {
        total++;
        byReason[reason] = (byReason[reason] ?? 0) + 1;
      }
      return true;
    });
    return { total, byReason, reasons: [...reasons].sort(), truncated: next !== undefined };
  }

  /**
   * Republishes one dead letter to its `hs-dlq-subject` and resolves once
   * JetStream stored it (or dropped it as a duplicate of a replay moments
   * ago). With `purge`, the dead letter is deleted afterwards. Throws
   * NOT_FOUND, or FAILED_PRECONDITION when it names no subject this
   * namespace's pipeline consumes.
   */
  async replay(sequence: number, purge: boolean): Promise<Replayed> {
    return this.#replayMsg(await this.get(sequence), purge);
  }

  /** Replays every match (up to `limit`), at most `perSecond` a second, oldest first. */
  async replayMatching(match: DeadLetterMatch, limit: number, perSecond: number, purge: boolean): Promise<Replayed[]> {
    const found: StoredMsg[] = [];
    await this.#scan(match, 0, Number.POSITIVE_INFINITY, (msg) => {
      found.push(msg);
      return found.length < limit;
    });
    const results: Replayed[] = [];
    const gapMs = 1_000 / perSecond;
    const started = Date.now();
    for (const [i, msg] of found.entries()) {
      const due = started + i * gapMs - Date.now();
      if (due > 0) await sleep(due);
      results.push(await this.#replayMsg(msg, purge));
    }
    return results;
  }

  /** Deletes one dead letter. Throws NOT_FOUND. */
  async purge(sequence: number): Promise<number> {
    await this.get(sequence);
    return (await this.#jsm.streams.deleteMessage(this.#t.streams.dlq, sequence, false)) ? 1 : 0;
  }

  /** Deletes every match; an empty match purges the whole stream. Resolves to how many went. */
  async purgeMatching(match: DeadLetterMatch): Promise<number> {
    const stream = this.#t.streams.dlq;
    if (isEmptyMatch(match)) return (await this.#jsm.streams.purge(stream)).purged;
    if (match.source === '' && match.endpoint === '' && match.reason === '' && !hasTimeRange(match)) {
      return (await this.#jsm.streams.purge(stream, { filter: this.#t.subject(`hs.dlq.${sanitizeToken(match.stage)}.>`) })).purged;
    }
    let purged = 0;
    const sequences: number[] = [];
    await this.#scan(match, 0, Number.POSITIVE_INFINITY, (msg) => {
      sequences.push(msg.seq);
      return true;
    });
    for (const seq of sequences) {
      if (await this.#jsm.streams.deleteMessage(stream, seq, false).catch(() => false)) purged++;
    }
    return purged;
  }

  async #replayMsg(msg: StoredMsg, purge: boolean): Promise<Replayed> {
    const subject = headerValue(msg.header, Header.dlqSubject);
    const local = subject === undefined ? '' : this.#t.local(subject);
    const inNamespace = this.#t.namespace === '' || local !== subject;
    if (subject === undefined || !inNamespace || !local.startsWith('hs.') || local.startsWith('hs.dlq.') || /[\s*>]/.test(local)) {
      throw new RpcError(status.FAILED_PRECONDITION, `dead letter ${msg.seq}: cannot replay to ${JSON.stringify(subject ?? '')}`);
    }
    const reduced = headerValue(msg.header, Header.dlqReduced);
    if (reduced !== undefined) {
      // Stored without its body (runtime worker.ts): a replay would send an empty body onward.
      throw new RpcError(
        status.FAILED_PRECONDITION,
        `dead letter ${msg.seq} was stored without its body (${reduced}); replaying it would send an empty body: replay the event from where it was consumed (${headerValue(msg.header, Header.dlqOriginStream) ?? '?'} sequence ${headerValue(msg.header, Header.dlqOriginSeq) ?? '?'}) or from HS_RAW`,
      );
    }
    const msgId = replayMsgId(headerValue(msg.header, Header.eventId), msg.seq);
    const h = replayHeaders(msg, Date.now());
    const ack = await this.#js.publish(subject, msg.data, { headers: h, msgID: msgId, timeout: 5_000 });
    if (purge) await this.#jsm.streams.deleteMessage(this.#t.streams.dlq, msg.seq, false).catch(() => false);
    return { sequence: msg.seq, subject, msgId, duplicate: ack.duplicate };
  }

  /**
   * Visits matching dead letters from sequence `from` up to the last one
   * stored when the scan began, until `visit` answers false or `maxScan`
   * sequences were read. Resolves to the sequence to continue from, or
   * undefined when the end was reached.
   */
  async #scan(match: DeadLetterMatch, from: number, maxScan: number, visit: (msg: StoredMsg) => boolean): Promise<number | undefined> {
    const stream = this.#t.streams.dlq;
    const info = await this.#jsm.streams.info(stream);
    const last = info.state.last_seq;
    let seq = Math.max(from, info.state.first_seq, 1);
    const stop = Math.min(last, seq + maxScan - 1);
    while (seq <= stop) {
      const batch: number[] = [];
      for (let s = seq; s <= stop && batch.length < READ_BATCH; s++) batch.push(s);
      const msgs = await Promise.all(batch.map((s) => this.#jsm.streams.getMessage(stream, { seq: s })));
      for (const [i, msg] of msgs.entries()) {
        seq = (batch[i] as number) + 1;
        if (msg === null) continue;
        if (!matches(this.#t.local(msg.subject), (name) => headerValue(msg.header, name), match, msg.time.getTime())) continue;
        if (!visit(msg)) return seq <= last ? seq : undefined;
      }
      seq = (batch.at(-1) as number) + 1;
    }
    return seq <= last ? seq : undefined;
  }

  /**
   * Visits matching dead letters from sequence `from` (0: the last stored)
   * down to the first, until `visit` answers false or `maxScan` sequences
   * were read. Resolves to the sequence to continue from (downwards), or
   * undefined when the first was reached.
   */
  async #scanBack(match: DeadLetterMatch, from: number, maxScan: number, visit: (msg: StoredMsg) => boolean): Promise<number | undefined> {
    const stream = this.#t.streams.dlq;
    const info = await this.#jsm.streams.info(stream);
    const first = Math.max(info.state.first_seq, 1);
    let seq = from === 0 ? info.state.last_seq : Math.min(from, info.state.last_seq);
    const stop = Math.max(first, seq - maxScan + 1);
    while (seq >= stop && seq > 0) {
      const batch: number[] = [];
      for (let s = seq; s >= stop && batch.length < READ_BATCH; s--) batch.push(s);
      const msgs = await Promise.all(batch.map((s) => this.#jsm.streams.getMessage(stream, { seq: s })));
      for (const [i, msg] of msgs.entries()) {
        seq = (batch[i] as number) - 1;
        if (msg === null) continue;
        if (!matches(this.#t.local(msg.subject), (name) => headerValue(msg.header, name), match, msg.time.getTime())) continue;
        if (!visit(msg)) return seq >= first ? seq : undefined;
      }
      seq = (batch.at(-1) as number) - 1;
    }
    return seq >= first ? seq : undefined;
  }
}
