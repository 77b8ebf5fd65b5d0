import type { DriftField, DriftQuery, EndpointStats, SeriesQuery, StatsPoint, StatsQuery } from '@hookstream/clickhouse';
import type { OperationalPayloadMap } from '@hookstream/contracts';
import type { EndpointConfig, SourceConfig } from '@hookstream/models';
import type { ControlPlaneService } from '@hookstream/proto';
import type { AttemptSource } from './attempts.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { EventStore } from './events.ts';
import { deadLetterHandlers } from './handlers/dead-letters.ts';
import { endpointHandlers } from './handlers/endpoints.ts';
import { eventHandlers } from './handlers/events.ts';
import { schemaHandlers } from './handlers/schemas.ts';
import { sourceHandlers } from './handlers/sources.ts';
import { statsHandlers } from './handlers/stats.ts';
import type { HealthSources } from './health.ts';
import type { JsonLimits, RecordBucket } from './records.ts';
import type { SchemaBucket } from './schemas.ts';

type Service = typeof ControlPlaneService;

/** Every RPC as an async function of its request; errors are thrown (RpcError, ValidationError). */
export type Handlers = {
  readonly [K in keyof Service]: (
    request: ReturnType<Service[K]['requestDeserialize']>,
  ) => Promise<ReturnType<Service[K]['responseDeserialize']>>;
};

/** What the handlers work on. */
export interface HandlerDeps {
  readonly sources: RecordBucket<SourceConfig>;
  readonly endpoints: RecordBucket<EndpointConfig>;
  readonly schemas: SchemaBucket;
  readonly deadLetters: DeadLetters;
  readonly events: EventStore;
  readonly attempts: AttemptSource;
  /** Endpoint stats from ClickHouse's per-minute views; undefined when ClickHouse is not configured. */
  readonly stats?: (q: StatsQuery) => Promise<EndpointStats[]>;
  /** Stats per time step from the same views; undefined when ClickHouse is not configured. */
  readonly series?: (q: SeriesQuery) => Promise<StatsPoint[]>;
  /** Undeclared fields validate reported (the `drift` table); undefined when ClickHouse is not configured. */
  readonly drift?: (q: DriftQuery) => Promise<DriftField[]>;
  /** What EndpointHealth reads. */
  readonly health: HealthSources;
  readonly rotationGraceMs: number;
  readonly replayPerSecond: number;
  /** Size and depth limits of `config_json` and `schema_json`. */
  readonly limits: JsonLimits;
  readonly now?: () => number;
  /**
   * Publishes an operator's endpoint change as an operational event
   * (docs/operational-events.md); resolves on the PubAck. Undefined: none is
   * published (handler tests).
   */
  readonly announce?: <K extends 'endpoint.disabled' | 'endpoint.enabled'>(type: K, data: OperationalPayloadMap[K]) => Promise<void>;
}

/** {@link HandlerDeps} with every default resolved, as each resource's handlers get them. */
export interface ResolvedDeps extends HandlerDeps {
  readonly now: () => number;
}

/**
 * The control plane's RPCs over the buckets and the DLQ, one module per
 * resource (src/handlers/*.ts), each building its part of the map. Writes go
 * through the runtime's parsers; secrets are shown only in the answers to
 * CreateSource/CreateEndpoint and the rotations. The return type makes tsc
 * fail when an RPC is added to the proto without a handler in some part.
 */
export function buildHandlers(deps: HandlerDeps): Handlers {
  const resolved: ResolvedDeps = { ...deps, now: deps.now ?? Date.now };
  return {
    ...sourceHandlers(resolved),
    ...endpointHandlers(resolved),
    ...schemaHandlers(resolved),
    ...deadLetterHandlers(resolved),
    ...eventHandlers(resolved),
    ...statsHandlers(resolved),
  };
}
