import { createLogger, runUntilSignalled } from '@hookstream/runtime';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

try {
  const config = loadConfig();
  const logger = createLogger({ service: config.service, level: config.logLevel });
  await runUntilSignalled(buildApp(config, { logger }), logger);
} catch (err) {
  console.error(`verify: ${(err as Error).message}`);
  process.exit(1);
}
