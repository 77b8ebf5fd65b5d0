import type { MsgHdrs } from '@nats-io/transport-node';
import { type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { resolveTelemetryConfig, type SamplerName, type TelemetryConfig } from './telemetry-config.ts';

/** Options for {@link setupTelemetry}. */
export interface TelemetryOptions {
  /** The service's own name: `service.name` unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names it. */
  readonly service: string;
  /**
   * The `HS_OTLP_ENDPOINT` alias: a full OTLP/HTTP traces URL
   * (`http://collector:4318/v1/traces`), used when neither
   * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is
   * set. Default: `env.HS_OTLP_ENDPOINT`.
   */
  readonly otlpEndpoint?: string | undefined;
  /** Where the OTEL_* variables are read (default `process.env`); see {@link resolveTelemetryConfig}. */
  readonly env?: NodeJS.ProcessEnv;
  /** Extra processors (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/** The process's tracing, as {@link setupTelemetry} set it up. */
export interface Telemetry {
  /** The settings in force (the first setup's, when called more than once): where spans go, the sampler, ignored settings. */
  readonly config: TelemetryConfig;
  /** Flushes and stops exporting. Never throws. */
  shutdown(): Promise<void>;
}

let installed: { provider: NodeTracerProvider; config: TelemetryConfig } | undefined;

/** The SDK sampler for a resolved name (the specification's meaning of each). */
function samplerFor(name: SamplerName, ratio: number): Sampler {
  const samplers: { readonly [K in SamplerName]: () => Sampler } = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    parentbased_always_off: () => new ParentBasedSampler({ root: new AlwaysOffSampler() }),
    parentbased_traceidratio: () => new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
  };
  return samplers[name]();
}

/**
 * Registers the process-wide tracer provider (W3C trace context, async
 * context across awaits), once: later calls return the first setup, so
 * several services in one test process share it. Settings come from the
 * standard OTEL_* variables ({@link resolveTelemetryConfig}: endpoint,
 * headers, service name, resource attributes, sampler, OTEL_SDK_DISABLED),
 * HS_OTLP_ENDPOINT being an alias of the endpoint. Spans always get real
 * ids (logs carry them); they are exported only with an endpoint or a
 * processor given. Never throws: an invalid setting is in `config.warnings`.
 */
export function setupTelemetry(options: TelemetryOptions): Telemetry {
  if (installed === undefined) {
    const env = options.env ?? process.env;
    const config = resolveTelemetryConfig(options.service, {
      ...env,
      ...(options.otlpEndpoint !== undefined ? { HS_OTLP_ENDPOINT: options.otlpEndpoint } : {}),
    });
    const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
    // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, timeouts and certificates itself.
    if (config.tracesUrl !== undefined) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl })));
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes(config.resourceAttributes),
      sampler: samplerFor(config.sampler, config.samplerRatio),
      spanProcessors: processors,
    });
    provider.register({ propagator: new W3CTraceContextPropagator() });
    installed = { provider, config };
  }
  const { provider, config } = installed;
  return {
    config,
    shutdown: async () => {
      await provider.forceFlush().catch(() => undefined);
    },
  };
}

const tracer = () => trace.getTracer('hookstream');

const setter = {
  set(carrier: MsgHdrs, key: string, value: string): void {
    carrier.set(key, value);
  },
};
const getter = {
  get(carrier: MsgHdrs | undefined, key: string): string | undefined {
    const value = carrier?.get(key);
    return value === undefined || value === '' ? undefined : value;
  },
  keys(carrier: MsgHdrs | undefined): string[] {
    return carrier ? carrier.keys() : [];
  },
};

/** Writes the active trace context (`traceparent`) into NATS headers; a no-op outside a span. */
export function injectTraceContext(headers: MsgHdrs, ctx: Context = context.active()): void {
  if (trace.getSpan(ctx) === undefined) return;
  propagation.inject(ctx, headers, setter);
}

/** The trace context carried by a message's headers (the root context when none). */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), headers, getter);
}

/**
 * Runs `fn` inside a new span (a child of `parent`), ending it when `fn`
 * settles; a throw marks the span as an error and is rethrown.
 */
export async function inSpan<T>(
  name: string,
  kind: 'server' | 'consumer' | 'client' | 'internal',
  parent: Context,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const spanKind = { server: SpanKind.SERVER, consumer: SpanKind.CONSUMER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL }[kind];
  const span = tracer().startSpan(name, { kind: spanKind, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/** `trace_id` and `span_id` of the active span, for log lines; empty outside a span. */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const c = span.spanContext();
  return { trace_id: c.traceId, span_id: c.spanId };
}

/** Sets attributes on the active span, if any (e.g. a delivery's outcome, known deep in a handler). */
export function annotateSpan(attributes: Record<string, string | number | boolean>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
