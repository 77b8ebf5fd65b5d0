import type { MsgHdrs } from '@nats-io/transport-node';
import { type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';

/** Options for {@link setupTelemetry}. */
export interface TelemetryOptions {
  readonly service: string;
  /** OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); none: spans are made but not exported. */
  readonly otlpEndpoint?: string | undefined;
  /** Extra processors (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/** The process's tracing, as {@link setupTelemetry} set it up. */
export interface Telemetry {
  /** Flushes and stops exporting. Never throws. */
  shutdown(): Promise<void>;
}

let installed: { provider: NodeTracerProvider; service: string } | undefined;

/**
 * Registers the process-wide tracer provider (W3C trace context, async
 * context across awaits), once: later calls return the first setup, so
 * several services in one test process share it. Spans always get real ids
 * (logs carry them); they are exported only with an OTLP endpoint or a
 * processor given.
 */
export function setupTelemetry(options: TelemetryOptions): Telemetry {
  if (installed === undefined) {
    const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
    if (options.otlpEndpoint) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpEndpoint })));
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.service, 'service.namespace': 'hookstream' }),
      spanProcessors: processors,
    });
    provider.register({ propagator: new W3CTraceContextPropagator() });
    installed = { provider, service: options.service };
  }
  const provider = installed.provider;
  return {
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
