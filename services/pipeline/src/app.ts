import { get } from 'node:http';
import { buildApp as buildDedup, loadConfig as loadDedupConfig } from '@hookstream/dedup';
import { buildApp as buildDeliver, loadConfig as loadDeliverConfig } from '@hookstream/deliver';
import { buildApp as buildIngest, loadConfig as loadIngestConfig } from '@hookstream/ingest';
import { buildApp as buildRoute, loadConfig as loadRouteConfig } from '@hookstream/route';
import {
  type App,
  type CheckResult,
  CleanupStack,
  ConfigError,
  createLogger,
  EnvReader,
  type Logger,
  readBaseConfig,
  startHealthServer,
} from '@hookstream/runtime';
import { buildApp as buildValidate, loadConfig as loadValidateConfig } from '@hookstream/validate';
import { buildApp as buildVerify, loadConfig as loadVerifyConfig } from '@hookstream/verify';

type Env = Readonly<Record<string, string | undefined>>;

/** GET `path` of a stage's loopback health server: the status (0: no answer within 2 s) and the JSON body. */
function stageHealth(port: number, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 2_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: 'no answer' }));
  });
}

/** A stage as this process hosts it: its own config from the shared environment, its own app. */
interface HostedStage {
  readonly name: string;
  readonly config: { readonly service: string; readonly logLevel: string };
  readonly app: App & { healthPort(): number };
}

/**
 * The stages in start order: consumers first, ingest (which takes traffic)
 * last, so that a 202 is never answered before the stages that carry the
 * event on run. They close in reverse: ingest stops taking traffic first.
 */
const STAGES = [
  ['verify', { loadConfig: loadVerifyConfig, buildApp: buildVerify }],
  ['dedup', { loadConfig: loadDedupConfig, buildApp: buildDedup }],
  ['validate', { loadConfig: loadValidateConfig, buildApp: buildValidate }],
  ['route', { loadConfig: loadRouteConfig, buildApp: buildRoute }],
  ['deliver', { loadConfig: loadDeliverConfig, buildApp: buildDeliver }],
  ['ingest', { loadConfig: loadIngestConfig, buildApp: buildIngest }],
] as const;

/** The default health port of the combined process (the separate services use 9101–9108). */
export const PIPELINE_HEALTH_PORT = 9109;

/** How often the combined /healthz and /readyz refresh their view of each stage's own. */
const HEALTH_POLL_MS = 1_000;

/** What {@link buildApp} returns. */
export interface PipelineApp extends App {
  /** The process's own logger (`service: pipeline`); each stage has its own. */
  readonly logger: Logger;
  /** The combined health server's port, once running. */
  healthPort(): number;
  /** The stages' own health ports (127.0.0.1), once running. */
  stagePorts(): Readonly<Record<string, number>>;
}

/**
 * Reads each stage's config from `env` (the variables every service reads:
 * `HS_NATS_URL`, `HS_NAMESPACE`, `HS_INGEST_PORT`, `HS_DELIVER_*` …), with
 * each stage's own health server on a free loopback port, and the combined
 * one on `HS_HEALTH_PORT` (default {@link PIPELINE_HEALTH_PORT}) and
 * `HS_HEALTH_HOST`. Throws one ConfigError naming every bad variable of
 * every stage.
 */
export function loadStages(env: Env): { readonly health: { port: number; host: string }; readonly stages: readonly [string, unknown][] } {
  const r = new EnvReader(env);
  const base = readBaseConfig(r, 'pipeline', PIPELINE_HEALTH_PORT);
  const problems: string[] = [];
  try {
    r.done();
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }
  const stageEnv = { ...env, HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' };
  const stages: [string, unknown][] = [];
  for (const [name, m] of STAGES) {
    try {
      stages.push([name, m.loadConfig(stageEnv)]);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) if (!problems.includes(p)) problems.push(p);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { health: { port: base.healthPort, host: base.healthHost }, stages };
}

/**
 * The six pipeline stages in one process: each is the service's own app
 * (its consumer, its NATS connection, its metrics, its logger with the
 * stage as `service`), started in the order of
 * {@link STAGES}, talking to the next over JetStream exactly as when they run
 * apart. For small installs: one process instead of six saves the CPU of six
 * event loops waking up for every event (bench/REPORT.md, "CPU per event").
 * The combined `/healthz` and `/readyz` pass when every stage's does, and
 * name each stage's answer; `/metrics` has every stage's series.
 */
export function buildApp(env: Env, overrides: { logger?: Logger } = {}): PipelineApp {
  const { health, stages: configs } = loadStages(env);
  const logLevel = (configs[0]?.[1] as { logLevel?: string } | undefined)?.logLevel ?? 'info';
  const logger = overrides.logger ?? createLogger({ service: 'pipeline', level: logLevel });
  const cleanup = new CleanupStack();
  const hosted: HostedStage[] = [];
  const view = new Map<string, { live: CheckResult; ready: CheckResult }>();
  let healthPort = 0;

  const poll = async (): Promise<void> => {
    for (const s of hosted) {
      const port = s.app.healthPort();
      const [live, ready] = await Promise.all([stageHealth(port, '/healthz'), stageHealth(port, '/readyz')]);
      view.set(s.name, {
        live: { ok: live.status === 200, detail: live.body },
        ready: { ok: ready.status === 200, detail: ready.body },
      });
    }
  };
  const check = (kind: 'live' | 'ready') => (): CheckResult => {
    const detail: Record<string, unknown> = {};
    let ok = hosted.length === STAGES.length;
    for (const [name] of STAGES) {
      const seen = view.get(name)?.[kind];
      if (seen === undefined || !seen.ok) ok = false;
      detail[name] = seen === undefined ? 'not running' : seen.ok ? 'ok' : seen.detail;
    }
    return { ok, detail };
  };

  return {
    logger,
    healthPort: () => healthPort,
    stagePorts: () => Object.fromEntries(hosted.map((s) => [s.name, s.app.healthPort()])),
    run: async () => {
      const server = await startHealthServer({
        host: health.host,
        port: health.port,
        liveness: { stages: check('live') },
        readiness: { stages: check('ready') },
      });
      healthPort = server.port;
      cleanup.push('health', () => server.close());
      for (const [name, config] of configs) {
        const m = STAGES.find(([n]) => n === name)?.[1];
        if (m === undefined) continue;
        const stageConfig = config as HostedStage['config'];
        // Each stage logs as its own service would (`service` is the stage), so log queries work in either layout.
        const stageLogger =
          overrides.logger !== undefined
            ? overrides.logger.child({ stage: name })
            : createLogger({ service: stageConfig.service, level: stageConfig.logLevel });
        // Each module's buildApp takes its own config type; loadStages made it with that module's loadConfig.
        const app = (m.buildApp as (c: unknown, o: { logger: Logger }) => HostedStage['app'])(config, { logger: stageLogger });
        cleanup.push(name, () => app.close());
        await app.run();
        hosted.push({ name, config: stageConfig, app });
        logger.info({ stage: name, healthPort: app.healthPort() }, 'stage running');
      }
      await poll();
      const timer = setInterval(() => {
        poll().catch((err: unknown) => logger.warn({ err }, 'reading a stage health failed'));
      }, HEALTH_POLL_MS);
      timer.unref();
      cleanup.push('health poll', () => clearInterval(timer));
    },
    close: () => cleanup.unwind(logger),
  };
}
