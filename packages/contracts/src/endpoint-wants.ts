import type { EndpointState } from './endpoint-state.ts';
import { OPERATIONAL_SOURCE } from './operational-events.ts';

/**
 * Whether an event type matches a pattern: `*` matches everything; otherwise
 * `*` in a pattern matches any run of characters (dots included), the rest
 * must be equal. `payment.*` matches `payment.succeeded` and
 * `payment.intent.created`, not `payment`. Pure.
 */
export function matchesEventType(pattern: string, eventType: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === eventType;
  const parts = pattern.split('*');
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i === 0) {
      if (!eventType.startsWith(part)) return false;
      at = part.length;
    } else if (i === parts.length - 1) {
      return eventType.length - part.length >= at && eventType.endsWith(part);
    } else {
      const found = eventType.indexOf(part, at);
      if (found === -1) return false;
      at = found + part.length;
    }
  }
  return true;
}

/** The parts of an endpoint record that say which events it wants. */
export interface EndpointSubscription {
  readonly id: string;
  readonly enabled: boolean;
  /** Sources it subscribes to; undefined: every source. */
  readonly sources?: readonly string[] | undefined;
  /** Event type patterns ({@link matchesEventType}); at least one. */
  readonly eventTypes: readonly string[];
  /** A CEL expression over the event; undefined: no filter. */
  readonly filter?: string | undefined;
}

/** What a filter said about one event: a match or not, or an error at run time. */
export type FilterVerdict = { readonly ok: true; readonly match: boolean } | { readonly ok: false; readonly error: string };

/** What {@link endpointWantsEvent} needs besides the endpoint and the event. */
export interface WantsContext {
  /** The endpoint's `hs_endpoint_state` value, if any (a 410 Gone disables it). */
  readonly state: EndpointState | undefined;
  /**
   * Evaluates the endpoint's filter on the event; called only when the
   * endpoint has one and everything else matched. Must not throw: a filter
   * that cannot compile or run is `{ ok: false, error }`.
   */
  readonly filter: (expression: string, endpointId: string) => FilterVerdict;
}

/** Why an endpoint does not want an event. */
export type Unwanted = 'disabled' | 'gone' | 'source' | 'event_type' | 'filter';

/** The answer of {@link endpointWantsEvent}. */
export type Wants =
  | { readonly wants: true }
  | { readonly wants: false; readonly why: Unwanted }
  | { readonly wants: false; readonly why: 'filter_error'; readonly error: string };

/**
 * The one rule for "does this endpoint want this event", used by route (to
 * fan out) and control (to replay to an endpoint): the endpoint is enabled,
 * not disabled by deliver (its state), subscribed to the event's source (or
 * all; operational events, source `_hookstream`, only when named), has a type pattern that matches, and its filter (if any) evaluates
 * to true. A filter that errors is `filter_error` (route dead-letters the
 * event for that endpoint). Checks run cheapest first; the filter last. Pure
 * apart from what `context.filter` does.
 */
export function endpointWantsEvent(
  endpoint: EndpointSubscription,
  event: { readonly source: string; readonly type: string },
  context: WantsContext,
): Wants {
  if (!endpoint.enabled) return { wants: false, why: 'disabled' };
  if (context.state?.disabled === true) return { wants: false, why: 'gone' };
  if (endpoint.sources !== undefined && !endpoint.sources.includes(event.source)) return { wants: false, why: 'source' };
  // Operational events are opt-in: only an endpoint that names their source gets them, not one of every source.
  if (endpoint.sources === undefined && event.source === OPERATIONAL_SOURCE) return { wants: false, why: 'source' };
  if (!endpoint.eventTypes.some((p) => matchesEventType(p, event.type))) return { wants: false, why: 'event_type' };
  if (endpoint.filter !== undefined) {
    const verdict = context.filter(endpoint.filter, endpoint.id);
    if (!verdict.ok) return { wants: false, why: 'filter_error', error: verdict.error };
    if (!verdict.match) return { wants: false, why: 'filter' };
  }
  return { wants: true };
}
