import {
  deadLetterHeaders,
  decodeEndpointState,
  deliveryKey,
  filterDeadLetterMsgId,
  Header,
  MSG_ID_HEADER,
  OPERATIONAL_SOURCE,
  stageMsgId,
} from '@hookstream/contracts';
import { decodeEndpoint, FilterCache } from '@hookstream/models';
import { buildStage, forwardHeaders, type Logger, openBucket, type StageApp, watchConfig } from '@hookstream/runtime';
import type { RouteConfig } from './config.ts';
import { handleValid, type RouteDeps } from './handler.ts';

/** Dependencies a test may replace. */
export interface RouteOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** The route service. */
export type RouteApp = StageApp;

/** The DLQ reason of an event whose filter failed at run time for one endpoint. */
export const FILTER_ERROR = 'filter_error';

/**
 * Wires route on the shared stage wiring: live caches of `hs_endpoints` and
 * `hs_endpoint_state`, compiled filters, and a durable consumer on
 * `hs.valid.>`.
 */
export function buildApp(config: RouteConfig, overrides: RouteOverrides = {}): RouteApp {
  const now = overrides.now ?? Date.now;
  return buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'route',
    input: (t) => ({ stream: t.streams.pipe, filterSubject: t.subject('hs.valid.>') }),
    setup: async ({ platform, publisher, cleanup, logger, topology: t }) => {
      const nc = platform.nats.nc;
      const endpoints = await watchConfig(
        await openBucket(nc, t.buckets.endpoints, { replicas: config.streamReplicas }),
        decodeEndpoint,
        logger,
      );
      cleanup.push('endpoints watch', () => endpoints.stop());
      const states = await watchConfig(
        await openBucket(nc, t.buckets.endpointState, { replicas: config.streamReplicas }),
        decodeEndpointState,
        logger,
      );
      cleanup.push('endpoint state watch', () => states.stop());
      const deps: RouteDeps = {
        endpoints: () => endpoints.values(),
        state: (id) => states.get(id),
        filters: new FilterCache(config.filterBudget),
        now,
        publishEvent: async (msg, eventId, sourceId, eventType) => {
          const h = forwardHeaders(msg.headers);
          h.set(MSG_ID_HEADER, stageMsgId(eventId, 'route'));
          // Operational events go to their own stream (docs/operational-events.md), not to `events.>`.
          const subject = sourceId === OPERATIONAL_SOURCE ? t.ops(eventType) : t.events(sourceId, eventType);
          await publisher.publish(subject, msg.data, h);
        },
        publishTask: async (msg, eventId, endpointId, lane) => {
          const h = forwardHeaders(msg.headers);
          h.set(MSG_ID_HEADER, deliveryKey(eventId, endpointId));
          h.set(Header.endpointId, endpointId);
          if (lane !== undefined) h.set(Header.lane, String(lane));
          await publisher.publish(t.deliver(endpointId, lane), msg.data, h);
        },
        deadLetterFilter: async (msg, eventId, sourceId, failure) => {
          logger.warn({ endpoint: failure.endpointId, source: sourceId, error: failure.error }, 'filter failed at run time');
          const h = forwardHeaders(msg.headers);
          h.set(MSG_ID_HEADER, filterDeadLetterMsgId(eventId, failure.endpointId));
          h.set(Header.endpointId, failure.endpointId);
          deadLetterHeaders(h, {
            stage: 'route',
            reason: FILTER_ERROR,
            detail: `endpoint ${failure.endpointId}: ${failure.error}`,
            subject: msg.subject,
            atMs: now(),
          });
          await publisher.publish(t.dlq('route', sourceId), msg.data, h);
        },
      };
      return {
        handle: (m) => handleValid(m, deps),
        readiness: { endpoints: () => endpoints.isReady(), endpointState: () => states.isReady() },
        ready: Promise.all([endpoints.ready(), states.ready()]).then(() => undefined),
      };
    },
  });
}
