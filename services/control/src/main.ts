import { runMain } from '@hookstream/runtime';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

await runMain('control', loadConfig, buildApp);
