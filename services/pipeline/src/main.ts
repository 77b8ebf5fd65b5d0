import { ConfigError, runUntilSignalled, setupTelemetry } from '@hookstream/runtime';
import { buildApp, type PipelineApp } from './app.ts';

let app: PipelineApp;
try {
  app = buildApp(process.env);
} catch (err) {
  console.error(`pipeline: ${err instanceof ConfigError ? err.message : String(err)}`);
  process.exit(1);
}
// Spans are always made (logs carry their ids); exported when HS_OTLP_ENDPOINT is set.
const telemetry = setupTelemetry({ service: 'pipeline', otlpEndpoint: process.env.HS_OTLP_ENDPOINT });
const running = app;
await runUntilSignalled(
  {
    run: () => running.run(),
    close: async () => {
      await running.close();
      await telemetry.shutdown();
    },
  },
  app.logger,
);
