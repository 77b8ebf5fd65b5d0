import { duplicateNoteKey } from '@hookstream/contracts';
import { type DuplicateNote, encodeDuplicateNote } from '@hookstream/models';
import { type AckingPublisher, PublishError } from '@hookstream/runtime';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import type { Claim, ClaimStore, StoredClaim } from './claims.ts';
import type { ClaimReleaser, ReleaseOptions, ReleaseResult } from './release.ts';

function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * {@link ClaimStore} and {@link ClaimReleaser} on a JetStream KV bucket: `create` and `replace` are the
 * server's expected-sequence checks. With a publisher, `create` and
 * `replace` go out on the hot path as one publish to `$KV.{bucket}.{key}`
 * with `Nats-Expected-Last-Subject-Sequence` (0 for a create: what the
 * client's `kv.create` sends, without its per-request overhead); a refused
 * create falls back to the client's, which also takes over a deleted key.
 */
export class KvClaimStore implements ClaimStore, ClaimReleaser {
  readonly #kv: KV;
  readonly #publisher: { readonly publisher: AckingPublisher; readonly bucket: string } | undefined;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();

  constructor(kv: KV, fast?: { readonly publisher: AckingPublisher; readonly bucket: string }) {
    this.#kv = kv;
    this.#publisher = fast;
  }

  async create(key: string, claim: Claim): Promise<number | undefined> {
    const data = this.#encoder.encode(JSON.stringify(claim));
    if (this.#publisher !== undefined) {
      const written = await this.#publishExpecting(key, data, 0);
      if (written !== undefined) return written;
    }
    try {
      return await this.#kv.create(key, data);
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  // One publish to the bucket's subject for `key`, stored only when the key's
  // last revision is `revision` (0: absent). The new revision, or undefined when refused.
  async #publishExpecting(key: string, data: Uint8Array, revision: number): Promise<number | undefined> {
    if (this.#publisher === undefined) return undefined;
    const h = headers();
    h.set('Nats-Expected-Last-Subject-Sequence', String(revision));
    try {
      return (await this.#publisher.publisher.publish(`$KV.${this.#publisher.bucket}.${key}`, data, h)).seq;
    } catch (err) {
      if (
        err instanceof PublishError &&
        (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
      ) {
        return undefined;
      }
      throw err;
    }
  }

  async get(key: string): Promise<StoredClaim | undefined> {
    const entry = await this.#kv.get(key);
    if (entry?.operation !== 'PUT') return undefined;
    const claim = JSON.parse(this.#decoder.decode(entry.value)) as Claim;
    return { claim, revision: entry.revision };
  }

  async releaseIfHeld(key: string, eventId: string, options: ReleaseOptions = {}): Promise<ReleaseResult> {
    for (;;) {
      const current = await this.get(key);
      if (current === undefined) return 'absent';
      if (current.claim.event_id !== eventId) return 'held-by-another';
      if (options.keepForwarded === true && current.claim.forwarded_ms !== undefined) return 'forwarded';
      try {
        await this.#kv.delete(key, { previousSeq: current.revision });
        return 'released';
      } catch (err) {
        // Changed since the read (taken over, marked forwarded, or released by another replica): look again.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }

  /**
   * Stores a duplicate's note under {@link duplicateNoteKey} (a plain put:
   * writing the same note twice is harmless). Resolves on the bucket's ack.
   */
  async putNote(note: DuplicateNote): Promise<void> {
    const key = duplicateNoteKey(note.event_id);
    const data = encodeDuplicateNote(note);
    if (this.#publisher === undefined) {
      await this.#kv.put(key, data);
      return;
    }
    await this.#publisher.publisher.publish(`$KV.${this.#publisher.bucket}.${key}`, data, headers());
  }

  async replace(key: string, claim: Claim, revision: number): Promise<number | undefined> {
    const data = this.#encoder.encode(JSON.stringify(claim));
    // The hot path (every first occurrence is marked forwarded): one publish.
    if (this.#publisher !== undefined) return this.#publishExpecting(key, data, revision);
    try {
      return await this.#kv.update(key, data, revision);
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }
}
