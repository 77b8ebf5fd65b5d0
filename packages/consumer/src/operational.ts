import { decodeOperationalEvent, Header, OPERATIONAL_SOURCE, type OperationalEvent, type OperationalKind } from '@hookstream/contracts';
import { EnvelopeError, type HookstreamEvent } from './envelope.ts';

/**
 * One operational event, discriminated by kind: checking `type` narrows
 * `data` to that kind's payload (`OperationalPayloadMap` in
 * `@hookstream/contracts`).
 */
export type AnyOperationalEvent = { readonly [K in OperationalKind]: OperationalEvent<K> }[OperationalKind];

/**
 * The operational event (docs/operational-events.md) an event read from
 * `hs.ops.{kind}` carries: its JSON body decoded by `decodeOperationalEvent`,
 * typed by kind. Throws {@link EnvelopeError} when `event` is not one: its
 * source is not `_hookstream` (`hs-source`), its body is not an operational
 * event (`body`), or the body's kind is not its `hs-event-type`. Pure.
 */
export function operationalEvent(event: HookstreamEvent): AnyOperationalEvent {
  if (event.source !== OPERATIONAL_SOURCE) {
    throw new EnvelopeError(
      Header.source,
      event.subject,
      `not an operational event: source ${JSON.stringify(event.source)}, not ${OPERATIONAL_SOURCE}`,
    );
  }
  let decoded: OperationalEvent;
  try {
    decoded = decodeOperationalEvent(event.raw);
  } catch (cause) {
    throw new EnvelopeError('body', event.subject, `not an operational event: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
  if (decoded.type !== event.type) {
    throw new EnvelopeError(Header.eventType, event.subject, `operational event of kind ${decoded.type} under event type ${event.type}`);
  }
  return decoded as AnyOperationalEvent;
}
