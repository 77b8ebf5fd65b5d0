import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DELIVERY_PROGRESS_HEADERS, Header } from '@hookstream/contracts';
import { bodyLimitProblem, envelopeHeadroomBytes, publishDeadLetter, topology } from '@hookstream/runtime';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { STAGE_HEADER_BOUNDS, STAGE_HEADERS_MAX_BYTES } from '../src/limits.ts';

/** What the NATS client puts on the wire for a header block (MsgHdrsImpl.encode; not on the MsgHdrs interface). */
const wire = (h: MsgHdrs): number => (h as unknown as { encode(): Uint8Array }).encode().length;

const CAPTURED = 16_384;

/** A message carrying every header a stage may set at its longest, except the dead-letter ones, plus `captured` bytes of sender headers. */
function longestMessage(captured: number): MsgHdrs {
  const h = headers();
  for (const b of STAGE_HEADER_BOUNDS) {
    if (b.name.startsWith('hs-dlq-')) continue;
    // 'é' is two bytes: a value of the bound's length in bytes, not characters.
    h.set(b.name, 'é'.repeat(Math.floor(b.maxValueBytes / 2)) + 'x'.repeat(b.maxValueBytes % 2));
  }
  const before = wire(h);
  let i = 0;
  while (wire(h) - before + 200 < captured) h.append(`hs-h-x-${i++}`, 'v'.repeat(150));
  h.append('hs-h-x-last', '');
  const short = captured - (wire(h) - before);
  h.delete('hs-h-x-last');
  h.append('hs-h-x-last', 'w'.repeat(short));
  assert.equal(wire(h) - before, captured);
  return h;
}

describe('envelope headroom', () => {
  it('limits: STAGE_HEADERS_MAX_BYTES is what NATS encodes for every bounded header at its longest', () => {
    const h = headers();
    for (const b of STAGE_HEADER_BOUNDS) h.set(b.name, 'x'.repeat(b.maxValueBytes));
    assert.equal(wire(h), STAGE_HEADERS_MAX_BYTES);
    assert.equal(envelopeHeadroomBytes(CAPTURED), STAGE_HEADERS_MAX_BYTES + CAPTURED);
  });

  it('limits: every header of the envelope contract has a bound', () => {
    // Scenario: someone adds a header to `Header` (or deliver's progress
    // headers) without counting it in the headroom; this fails until they do.
    const bounded = new Set(STAGE_HEADER_BOUNDS.map((b) => b.name));
    const names = [...Object.values(Header).filter((n) => n !== Header.httpPrefix), ...DELIVERY_PROGRESS_HEADERS, 'Nats-Msg-Id'];
    for (const name of names) assert.ok(bounded.has(name), `${name} has a bound in STAGE_HEADER_BOUNDS`);
  });

  it('limits: the longest dead letter, whole or reduced, fits in the headroom', async () => {
    // Scenario: a message with every stage header at its longest and 16 KiB
    // of sender headers is dead-lettered with a 2,000-character detail of
    // three-byte characters, on a subject under a 32-character namespace.
    const t = topology('n'.repeat(32));
    const subject = t.dlq('validate', 's'.repeat(64));
    const published: { subject: string; headers: MsgHdrs; data: Uint8Array; msgID: string }[] = [];
    const js = {
      publish: async (subj: string, data: Uint8Array, opts: { headers: MsgHdrs; msgID: string }) => {
        published.push({ subject: subj, headers: opts.headers, data, msgID: opts.msgID });
        return { stream: 'x', seq: 1, duplicate: false };
      },
    } as unknown as JetStreamClient;
    const source = longestMessage(CAPTURED);
    source.set(Header.eventId, '0193a3c4-1f2e-7abc-8def-0123456789ab');
    const msg = {
      subject: t.subject(`hs.deliver.${'e'.repeat(64)}.255`),
      data: new Uint8Array(10),
      headers: source,
      seq: 99_999_999_999,
      info: { deliveryCount: 1_000_000, stream: t.streams.delivery, streamSequence: 99_999_999_999 },
    } as unknown as JsMsg;
    const detail = '€'.repeat(3_000);
    await publishDeadLetter(js, msg, subject, 'deliver', 'retries_exhausted', detail);
    await publishDeadLetter(js, msg, subject, 'deliver', 'retries_exhausted', detail, {
      reduced: 'dead_letter_failed',
      cause: 'x'.repeat(500),
    });
    for (const p of published) {
      // js.publish adds the Nats-Msg-Id header on the wire.
      const onWire = headers();
      for (const [k, v] of p.headers) for (const value of v) onWire.append(k, value);
      onWire.set('Nats-Msg-Id', p.msgID);
      assert.ok(p.msgID.length <= 512, `Nats-Msg-Id of ${p.msgID.length}`);
      assert.ok(wire(onWire) <= envelopeHeadroomBytes(CAPTURED), `${wire(onWire)} header bytes <= ${envelopeHeadroomBytes(CAPTURED)}`);
    }
    assert.equal(published[1]?.data.length, 0, 'the reduced form has no body');
  });

  it('limits: bodyLimitProblem accepts a limit that exactly fits and names both numbers one byte over', () => {
    const maxPayload = 1_048_576;
    const fits = maxPayload - envelopeHeadroomBytes(CAPTURED);
    assert.equal(bodyLimitProblem(fits, maxPayload, CAPTURED), undefined);
    const problem = bodyLimitProblem(fits + 1, maxPayload, CAPTURED) ?? '';
    assert.match(problem, new RegExp(`body limit ${fits + 1} bytes`));
    assert.match(problem, /max_payload of 1048576 bytes/);
    assert.match(problem, new RegExp(`at most ${fits} bytes`));
  });
});
