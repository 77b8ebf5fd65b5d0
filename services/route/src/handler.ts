import { type EndpointState, endpointWantsEvent, Header } from '@hookstream/contracts';
import { type EndpointConfig, type FilterCache, type FilterInput, filterInputOf, orderingLane } from '@hookstream/models';
import { envelopeOf, type Outcome, type StageMessage, senderHeader } from '@hookstream/runtime';

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
  /** The endpoint's `hs_endpoint_state` value (deliver disables an endpoint on 410 Gone), if any. */
  readonly state: (endpointId: string) => EndpointState | undefined;
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

/**
 * Chooses the endpoints an event goes to: those that want it by the
 * contracts' `endpointWantsEvent` (enabled, not disabled by deliver,
 * subscribed to its source, a matching type pattern, a filter that
 * evaluates to true). A filter that errors at run time is a failure for
 * that endpoint only. The body is parsed only when a filter or an ordering
 * key needs it. Pure apart from the filter cache; never throws.
 */
export function planRoutes(
  endpoints: Iterable<EndpointConfig>,
  state: (id: string) => EndpointState | undefined,
  filters: FilterCache,
  event: { readonly type: string; readonly source: string; readonly id: string; readonly msg: ValidMessage },
): RoutePlan {
  const endpointIds: string[] = [];
  const failures: FilterFailure[] = [];
  const lanes = new Map<string, number>();
  let input: FilterInput | undefined;
  const filterInput = (): FilterInput => (input ??= filterInputOf(event.msg, event));
  const filter = (expression: string, endpointId: string) => filters.evaluate(endpointId, expression, filterInput);
  for (const endpoint of endpoints) {
    const wants = endpointWantsEvent(endpoint, event, { state: state(endpoint.id), filter });
    if (!wants.wants) {
      if (wants.why === 'filter_error') failures.push({ endpointId: endpoint.id, error: wants.error });
      continue;
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
  const plan = planRoutes(deps.endpoints(), deps.state, deps.filters, { type: eventType, source: sourceId, id: eventId, msg });
  await Promise.all([
    deps.publishEvent(msg, eventId, sourceId, eventType),
    ...plan.endpointIds.map((endpointId) => deps.publishTask(msg, eventId, endpointId, plan.lanes.get(endpointId))),
    ...plan.failures.map((failure) => deps.deadLetterFilter(msg, eventId, sourceId, failure)),
  ]);
  return { kind: 'ack' };
}
