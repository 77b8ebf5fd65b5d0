import {
  encodeOperationalEvent,
  Header,
  MSG_ID_HEADER,
  OPERATIONAL_SOURCE,
  type OperationalEvent,
  type OperationalKind,
  type OperationalPayloadMap,
  operationalEventId,
  operationalMsgId,
} from '@hookstream/contracts';
import { type MsgHdrs, headers as newHeaders } from '@nats-io/transport-node';
import type { Topology } from './topology.ts';

/** Where {@link publishOperationalEvent} publishes: an `AckingPublisher`, or anything that resolves on the PubAck. */
export interface OperationalSink {
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<unknown>;
}

/**
 * The one way a service publishes an operational event
 * (docs/operational-events.md): the JSON `{type, data}` body, with the
 * envelope of any event (`hs-event-id` from {@link operationalEventId},
 * `hs-source: _hookstream`, `hs-event-type: {kind}`, `hs-received-at`, a
 * JSON content type) and `Nats-Msg-Id` from {@link operationalMsgId}, onto
 * `hs.valid._hookstream`. Route takes it from there like any validated
 * event: `hs.ops.{kind}` (stream `HS_OPS`) for JetStream subscribers, and one
 * delivery task per endpoint that wants it. Resolves with the event id on
 * the PubAck; rejects when the publish fails.
 */
export async function publishOperationalEvent<K extends OperationalKind>(
  sink: OperationalSink,
  t: Pick<Topology, 'valid'>,
  type: K,
  data: OperationalPayloadMap[K],
  nowMs: number,
): Promise<string> {
  const event: OperationalEvent<K> = { type, data };
  const eventId = operationalEventId(event);
  const h = newHeaders();
  h.set(Header.eventId, eventId);
  h.set(Header.source, OPERATIONAL_SOURCE);
  h.set(Header.eventType, type);
  h.set(Header.receivedAt, String(nowMs));
  h.set(`${Header.httpPrefix}content-type`, 'application/json');
  h.set(MSG_ID_HEADER, operationalMsgId(eventId));
  await sink.publish(t.valid(OPERATIONAL_SOURCE), encodeOperationalEvent(event), h);
  return eventId;
}
