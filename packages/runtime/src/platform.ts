import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { BaseConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { connectNats, type NatsHandle } from './nats.ts';
import { ensureStreams, streamConfigs } from './streams.ts';
import { type Topology, topology } from './topology.ts';

/** What every service gets from {@link openPlatform}. */
export interface Platform {
  readonly nats: NatsHandle;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly topology: Topology;
}

/**
 * Connects to NATS and makes sure every stream exists with the wanted config
 * (waiting, within ensureStreams' bound, for a cluster that is still
 * electing). Resolves when both are done; throws ConnectionError or
 * TopologyError.
 * The caller drains `nats` on shutdown.
 */
export async function openPlatform(config: BaseConfig, logger: Logger): Promise<Platform> {
  const nats = await connectNats(config, logger);
  try {
    // No $JS.API.INFO probe here: a cluster still electing would fail it at
    // once; ensureStreams retries that while JetStream is unavailable.
    const jsm = await jetstreamManager(nats.nc, { checkAPI: false });
    const t = topology(config.namespace);
    await ensureStreams(jsm, streamConfigs(t, { replicas: config.streamReplicas, eventsMaxAgeHours: config.eventsMaxAgeHours }), {
      onRetry: ({ what, error, attempt, delayMs }) =>
        logger.warn({ err: error, attempt, delayMs }, `JetStream unavailable for ${what}; retrying`),
    });
    return { nats, js: jetstream(nats.nc), jsm, topology: t };
  } catch (err) {
    await nats.drain();
    throw err;
  }
}
