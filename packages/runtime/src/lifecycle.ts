import { createLogger, type Logger } from './logger.ts';
import { setupTelemetry } from './telemetry.ts';

/**
 * Cleanup actions pushed as resources are created and run last-in-first-out
 * by {@link CleanupStack.unwind}: stop consumers, then drain NATS, then flush
 * logs. A failing action is logged and the rest still run.
 */
export class CleanupStack {
  readonly #actions: { name: string; run: () => Promise<void> | void }[] = [];
  #unwinding: Promise<void> | undefined;

  /** Registers `run` to be called on unwind, after everything pushed later. */
  push(name: string, run: () => Promise<void> | void): void {
    this.#actions.push({ name, run });
  }

  /** Runs every action once, newest first. Repeated calls share the first run. Never throws. */
  unwind(logger?: Logger): Promise<void> {
    this.#unwinding ??= (async () => {
      while (this.#actions.length > 0) {
        const action = this.#actions.pop();
        if (!action) break;
        try {
          await action.run();
        } catch (err) {
          logger?.error({ err, action: action.name }, 'cleanup failed');
        }
      }
    })();
    return this.#unwinding;
  }
}

/** A service as `main.ts` runs it. */
export interface App {
  /** Starts everything; resolves once the service is serving. */
  run(): Promise<void>;
  /** Stops everything gracefully; resolves when done. Never throws. */
  close(): Promise<void>;
}

/**
 * Runs an app until SIGINT or SIGTERM, then closes it and exits 0. A second
 * signal exits 1 at once. A start-up failure is logged and exits 1. This is
 * the only place that handles process signals.
 */
export async function runUntilSignalled(app: App, logger: Logger): Promise<void> {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void app.close().then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await app.run();
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await app.close();
    logger.flush();
    process.exit(1);
  }
}

/**
 * The whole of a service's `main.ts`: compile the config (a bad one prints
 * every problem and exits 1), build the app with a logger, run it until
 * SIGINT/SIGTERM. Never resolves for a running service.
 */
export async function runMain<C extends { readonly service: string; readonly logLevel: string }>(
  name: string,
  loadConfig: () => C,
  buildApp: (config: C, overrides: { logger: Logger }) => App,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(`${name}: ${(err as Error).message}`);
    process.exit(1);
  }
  const logger = createLogger({ service: config.service, level: config.logLevel });
  // Spans are always made (logs carry their ids); exported when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
  // or its alias HS_OTLP_ENDPOINT is set (telemetry-config.ts has the precedence).
  const telemetry = setupTelemetry({ service: config.service });
  for (const warning of telemetry.config.warnings) logger.warn({ setting: warning }, 'tracing setting ignored');
  const app = buildApp(config, { logger });
  await runUntilSignalled(
    {
      run: () => app.run(),
      close: async () => {
        await app.close();
        await telemetry.shutdown();
      },
    },
    logger,
  );
}
