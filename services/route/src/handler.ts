import {
  type EndpointConfig,
  envelopeOf,
  Header,
  matchesEventType,
  type Outcome,
  orderingLane,
  type StageMessage,
  senderHeader,
} from '@hookstream/runtime';
import type { FilterCache, FilterInput } from './filters.ts';

/** A `hs.valid.{source}` message as route's handler reads it. */
export type ValidMessage = StageMessage;

/** One endpoint whose filter failed at run time for this event. */
export interface FilterFailure {
  readonly endpointId: string;
  readonly error: string;
}

/** The I/O route's handler needs. */
export interface RouteDeps {
  /** Every configured endpoint. */
  readonly endpoints: () => Iterable<EndpointConfig>;
  /** True when deliver disabled the endpoint (410 Gone). */
  readonly disabled: (endpointId: string) => boolean;
  readonly filters: FilterCache;
  /** Publishes to `events.{source}.{type}`; resolves on JetStream's ack. */
  readonly publishEvent: (msg: ValidMessage, eventId: string, sourceId: string, eventType: string) => Promise<void>;
  /** Publishes one delivery task to `hs.deliver.{endpoint}` (`.{lane}` when given); resolves on JetStream's ack. */
  readonly publishTask: (msg: ValidMessage, eventId: string, endpointId: string, lane: number | undefined) => Promise<void>;
  /** Dead-letters this event for one endpoint whose filter failed; resolves on JetStream's ack. */
  readonly deadLetterFilter: (msg: ValidMessage, eventId: string, sourceId: string, failure: FilterFailure) => Promise<void>;
  readonly now: () => number;
}

/** The routing decision for one event, without I/O. */
export interface RoutePlan {
  readonly endpointIds: readonly string[];
  readonly failures: readonly FilterFailure[];
  /** The lane of each endpoint ordered by a key (`orderingKey`) that gets the event. */
  readonly lanes: ReadonlyMap<string, number>;
}

/** Sender headers (`hs-h-*`) as a plain object with lower-case names, for filters. */
export function senderHeaders(msg: ValidMessage): Record<string, string> {
  const out: Record<string, string> = {};
  if (msg.headers) {
    for (const [key, values] of msg.headers) {
      const lower = key.toLowerCase();
      if (lower.startsWith(Header.httpPrefix) && values[0] !== undefined) out[lower.slice(Header.httpPrefix.length)] = values[0];
    }
  }
  return out;
}

/** The body as a filter's `data`: JSON, or a form body as an object; null when it is neither. */
export function parseData(body: Uint8Array, contentType: string | undefined): unknown {
  const text = new TextDecoder().decode(body);
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    return out;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * Chooses the endpoints an event goes to: enabled, not disabled by deliver,
 * subscribed to its source (or all), with a matching type pattern, and whose
 * filter (if any) evaluates to true. A filter that errors at run time is a
 * failure for that endpoint only. The body is parsed only when a filter
 * needs it. Pure apart from the filter cache; never throws.
 */
export function planRoutes(
  endpoints: Iterable<EndpointConfig>,
  disabled: (id: string) => boolean,
  filters: FilterCache,
  event: { readonly type: string; readonly source: string; readonly id: string; readonly msg: ValidMessage },
): RoutePlan {
  const endpointIds: string[] = [];
  const failures: FilterFailure[] = [];
  const lanes = new Map<string, number>();
  let input: FilterInput | undefined;
  const filterInput = (): FilterInput =>
    (input ??= {
      type: event.type,
      source: event.source,
      id: event.id,
      data: parseData(event.msg.data, event.msg.header(`${Header.httpPrefix}content-type`)),
      headers: senderHeaders(event.msg),
    });
  for (const endpoint of endpoints) {
    if (!endpoint.enabled || disabled(endpoint.id)) continue;
    if (endpoint.sources !== undefined && !endpoint.sources.includes(event.source)) continue;
    if (!endpoint.eventTypes.some((p) => matchesEventType(p, event.type))) continue;
    if (endpoint.filter !== undefined) {
      let verdict: ReturnType<ReturnType<FilterCache['get']>>;
      try {
        verdict = filters.get(endpoint.id, endpoint.filter)(filterInput());
      } catch (err) {
        verdict = { ok: false, error: `does not compile: ${(err as Error).message}` };
      }
      if (!verdict.ok) {
        failures.push({ endpointId: endpoint.id, error: verdict.error });
        continue;
      }
      if (!verdict.match) continue;
    }
    endpointIds.push(endpoint.id);
    if (endpoint.orderingKey !== undefined) {
      const json = endpoint.orderingKey.from === 'json' ? filterInput().data : undefined;
      lanes.set(endpoint.id, orderingLane(endpoint, senderHeader(event.msg), json) ?? 0);
    }
  }
  return { endpointIds, failures, lanes };
}

/**
 * Handles one valid event: publishes it to `events.{source}.{type}`, one task
 * per matching endpoint, and a dead letter per endpoint whose filter failed;
 * acks once JetStream acknowledged all of them. Every publish carries a
 * deterministic `Nats-Msg-Id`, so a retried step stores nothing twice.
 * Throws when a publish fails (the worker retries with a delay).
 */
export async function handleValid(msg: ValidMessage, deps: RouteDeps): Promise<Outcome> {
  const { eventId, sourceId } = envelopeOf(msg, deps.now());
  const eventType = msg.header(Header.eventType) ?? '_';
  const plan = planRoutes(deps.endpoints(), deps.disabled, deps.filters, { type: eventType, source: sourceId, id: eventId, msg });
  await Promise.all([
    deps.publishEvent(msg, eventId, sourceId, eventType),
    ...plan.endpointIds.map((endpointId) => deps.publishTask(msg, eventId, endpointId, plan.lanes.get(endpointId))),
    ...plan.failures.map((failure) => deps.deadLetterFilter(msg, eventId, sourceId, failure)),
  ]);
  return { kind: 'ack' };
}
