import type { BaseConfig } from './config.ts';
import { type Check, startHealthServer } from './health.ts';
import { type App, CleanupStack } from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';
import { addMetricsRefresher, HOOKSTREAM_VERSION, metrics } from './metrics.ts';
import { openPlatform, type Platform } from './platform.ts';
import type { Topology } from './topology.ts';

/** What a service's `prepare` gets: nothing of NATS is open yet. */
export interface PrepareContext {
  /** Push cleanups for what prepare opens; they run after NATS drains. */
  readonly cleanup: CleanupStack;
  readonly logger: Logger;
}

/** What a service's `setup` gets: the shared resources, already open. */
export interface ServiceContext extends PrepareContext {
  readonly platform: Platform;
  readonly topology: Topology;
  /**
   * Registers a refresh of gauges read at scrape time (consumer lag), removed
   * on close (pushed onto `cleanup` now: call it where its place in the
   * shutdown order belongs).
   */
  readonly refreshMetrics: (refresh: () => Promise<void>) => void;
}

/** What a service's `setup` returns. */
export interface ServiceWiring {
  /** All must pass for 200 on `/healthz`. Default: `{ process: () => true }`. */
  readonly liveness?: Readonly<Record<string, Check>>;
  /** Checks for `/readyz`, after the `nats` one every service has. */
  readonly readiness?: Readonly<Record<string, Check>>;
  /**
   * Starts serving (consumers, servers), once the health server listens;
   * resolves when the service serves. Push its cleanups onto the context's
   * stack: they run first on close.
   */
  readonly start?: () => Promise<void>;
}

/** Options for {@link buildService}. */
export interface ServiceOptions {
  readonly config: BaseConfig;
  /** Default: a logger named after `config.service` at `config.logLevel`. */
  readonly logger?: Logger | undefined;
  /** Runs before NATS is opened (analytics: ClickHouse migrations); throwing fails `run()`. */
  readonly prepare?: (ctx: PrepareContext) => Promise<void>;
  /** Opens the service's own resources and says how to check and start it. */
  readonly setup: (ctx: ServiceContext) => Promise<ServiceWiring>;
}

/** A running service, as its `buildApp` returns it (with its own accessors added). */
export interface ServiceApp extends App {
  /** The health server's port, once running (0 before). */
  healthPort(): number;
  /** The service's logger (the one given, or the one made from the config). */
  readonly logger: Logger;
}

/**
 * The skeleton every service shares: the logger, `prepare`, NATS and
 * streams ({@link openPlatform}), the service's `setup`, the health server
 * (`/healthz`: the wiring's liveness; `/readyz`: NATS connected plus the
 * wiring's readiness; `/metrics`), then the wiring's `start`. Every resource
 * pushes its cleanup onto one {@link CleanupStack}; `close()` unwinds it
 * last-in-first-out: what `start` opened, the health server, what `setup`
 * opened, NATS (drained), what `prepare` opened. `run()` rejects with the
 * first failure (the caller closes); `close()` never throws.
 */
export function buildService(options: ServiceOptions): ServiceApp {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const cleanup = new CleanupStack();
  let healthPort = 0;
  return {
    logger,
    healthPort: () => healthPort,
    run: async () => {
      // `hookstream_build_info{version, node, service} 1` on every service's /metrics.
      const build = { version: HOOKSTREAM_VERSION, node: process.version, service: config.service };
      metrics.buildInfo.set(build, 1);
      cleanup.push('build info', () => {
        metrics.buildInfo.remove(build);
      });
      await options.prepare?.({ cleanup, logger });
      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const wiring = await options.setup({
        platform,
        topology: platform.topology,
        cleanup,
        logger,
        refreshMetrics: (refresh) => cleanup.push('metrics refresher', addMetricsRefresher(refresh)),
      });
      const health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        liveness: wiring.liveness ?? { process: () => true },
        readiness: { nats: () => platform.nats.isConnected(), ...wiring.readiness },
      });
      healthPort = health.port;
      cleanup.push('health', () => health.close());
      await wiring.start?.();
    },
    close: () => cleanup.unwind(logger),
  };
}
