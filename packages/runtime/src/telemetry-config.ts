import { parseKeyPairsIntoRecord } from '@opentelemetry/core';

/** The samplers of the OpenTelemetry specification's `OTEL_TRACES_SAMPLER` (the ones the JS SDK ships). */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** Which variable named the traces endpoint. */
export type EndpointSource = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'HS_OTLP_ENDPOINT';

/** The process's tracing settings, resolved from the environment by {@link resolveTelemetryConfig}. */
export interface TelemetryConfig {
  /** Where spans are POSTed (OTLP/HTTP); undefined: spans are made (logs carry their ids) but not exported. */
  readonly tracesUrl: string | undefined;
  /** The variable `tracesUrl` came from; undefined when nothing is exported. */
  readonly endpointSource: EndpointSource | undefined;
  /** `service.name`: OTEL_SERVICE_NAME, else `service.name` of OTEL_RESOURCE_ATTRIBUTES, else the service's own name. */
  readonly serviceName: string;
  /** Every resource attribute: `service.namespace=hookstream`, then OTEL_RESOURCE_ATTRIBUTES over it, then `service.name`. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: SamplerName;
  /** The ratio of the `*traceidratio` samplers (OTEL_TRACES_SAMPLER_ARG, default 1). */
  readonly samplerRatio: number;
  /** Settings that were ignored, and why (logged at start; the OpenTelemetry specification says to ignore, not fail). */
  readonly warnings: readonly string[];
}

const SAMPLERS: { readonly [K in SamplerName]: true } = {
  always_on: true,
  always_off: true,
  traceidratio: true,
  parentbased_always_on: true,
  parentbased_always_off: true,
  parentbased_traceidratio: true,
};

const isSampler = (s: string): s is SamplerName => Object.hasOwn(SAMPLERS, s);

/** A variable's value, with an empty or blank one treated as unset (as the specification asks). */
function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Resolves tracing from the OpenTelemetry SDK's standard variables, with
 * hookstream's `HS_OTLP_ENDPOINT` kept as an alias. Pure: reads only `env`.
 *
 * Endpoint, first set wins: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as
 * is), `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL: `/v1/traces` appended),
 * `HS_OTLP_ENDPOINT` (the full traces URL, as before). Nothing is exported
 * when `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 * `OTEL_EXPORTER_OTLP_HEADERS` and the OTLP certificate variables are read
 * by the exporter itself. An invalid value is ignored with a warning and
 * its default used; this never throws.
 */
export function resolveTelemetryConfig(service: string, env: NodeJS.ProcessEnv = process.env): TelemetryConfig {
  const warnings: string[] = [];

  let tracesUrl: string | undefined;
  let endpointSource: EndpointSource | undefined;
  const candidates: readonly [EndpointSource, string | undefined][] = [
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', read(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')],
    ['HS_OTLP_ENDPOINT', read(env, 'HS_OTLP_ENDPOINT')],
  ];
  for (const [name, value] of candidates) {
    if (value === undefined) continue;
    const url = parseUrl(value);
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      warnings.push(`${name}=${JSON.stringify(value)} is not an http(s) URL; ignored`);
      continue;
    }
    // The generic endpoint is a base: signals go to <base>/v1/<signal> (OTLP exporter specification).
    tracesUrl = name === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? `${value.replace(/\/+$/, '')}/v1/traces` : url.toString();
    endpointSource = name;
    break;
  }
  const disabled = read(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const exporters = (read(env, 'OTEL_TRACES_EXPORTER') ?? 'otlp').split(',').map((e) => e.trim().toLowerCase());
  const unsupported = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unsupported.length > 0) warnings.push(`OTEL_TRACES_EXPORTER: only otlp and none are supported; ignored ${unsupported.join(', ')}`);
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = read(env, name);
    if (protocol !== undefined && protocol !== 'http/json' && protocol !== 'http/protobuf') {
      warnings.push(`${name}=${protocol}: hookstream exports OTLP over HTTP (JSON); use the collector's HTTP port (4318)`);
    }
  }
  if (disabled || exporters.includes('none')) {
    tracesUrl = undefined;
    endpointSource = undefined;
  }

  let sampler: SamplerName = 'parentbased_always_on';
  const samplerValue = read(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  if (samplerValue !== undefined) {
    if (isSampler(samplerValue)) sampler = samplerValue;
    else warnings.push(`OTEL_TRACES_SAMPLER=${samplerValue} is not one of ${Object.keys(SAMPLERS).join(', ')}; using ${sampler}`);
  }
  let samplerRatio = 1;
  const ratioValue = read(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (ratioValue !== undefined && sampler.endsWith('traceidratio')) {
    const ratio = Number(ratioValue);
    if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) samplerRatio = ratio;
    else warnings.push(`OTEL_TRACES_SAMPLER_ARG=${ratioValue} is not a ratio in [0, 1]; using 1`);
  }

  const fromEnv = parseKeyPairsIntoRecord(read(env, 'OTEL_RESOURCE_ATTRIBUTES'));
  const serviceName = read(env, 'OTEL_SERVICE_NAME') ?? fromEnv['service.name'] ?? service;
  const resourceAttributes = Object.freeze({ 'service.namespace': 'hookstream', ...fromEnv, 'service.name': serviceName });

  return Object.freeze({
    tracesUrl,
    endpointSource,
    serviceName,
    resourceAttributes,
    sampler,
    samplerRatio,
    warnings: Object.freeze(warnings),
  });
}
