import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveTelemetryConfig } from '../src/telemetry-config.ts';

describe('telemetry config', () => {
  it('telemetry config: nothing set exports nothing, samples parent-based always-on, names the service', () => {
    const c = resolveTelemetryConfig('verify', {});
    assert.equal(c.tracesUrl, undefined);
    assert.equal(c.endpointSource, undefined);
    assert.equal(c.sampler, 'parentbased_always_on');
    assert.equal(c.samplerRatio, 1);
    assert.equal(c.serviceName, 'verify');
    assert.deepEqual(c.resourceAttributes, { 'service.namespace': 'hookstream', 'service.name': 'verify' });
    assert.deepEqual(c.warnings, []);
  });

  it('telemetry config: OTEL_EXPORTER_OTLP_ENDPOINT alone exports to <base>/v1/traces', () => {
    const c = resolveTelemetryConfig('ingest', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    assert.equal(c.tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(c.endpointSource, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    const withPath = resolveTelemetryConfig('ingest', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/tenant-a/' });
    assert.equal(withPath.tracesUrl, 'https://otlp.example.com/tenant-a/v1/traces');
  });

  it('telemetry config: endpoint precedence is TRACES_ENDPOINT, then OTLP_ENDPOINT, then the HS_OTLP_ENDPOINT alias', () => {
    const all = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom/path',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
      HS_OTLP_ENDPOINT: 'http://alias:4318/v1/traces',
    };
    const traces = resolveTelemetryConfig('s', all);
    assert.equal(traces.tracesUrl, 'http://traces:4318/custom/path', 'the signal-specific URL is used as is');
    assert.equal(traces.endpointSource, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    const base = resolveTelemetryConfig('s', { ...all, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' });
    assert.equal(base.tracesUrl, 'http://base:4318/v1/traces', 'an empty variable counts as unset');
    const alias = resolveTelemetryConfig('s', { HS_OTLP_ENDPOINT: all.HS_OTLP_ENDPOINT });
    assert.equal(alias.tracesUrl, 'http://alias:4318/v1/traces', 'the alias is the full traces URL, as before');
    assert.equal(alias.endpointSource, 'HS_OTLP_ENDPOINT');
  });

  it('telemetry config: OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none stop the export', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', HS_OTLP_ENDPOINT: 'http://alias:4318/v1/traces' };
    assert.equal(resolveTelemetryConfig('s', { ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracesUrl, undefined);
    assert.equal(resolveTelemetryConfig('s', { ...endpoint, OTEL_SDK_DISABLED: 'TRUE' }).tracesUrl, undefined);
    assert.equal(resolveTelemetryConfig('s', { ...endpoint, OTEL_SDK_DISABLED: 'false' }).tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(resolveTelemetryConfig('s', { ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracesUrl, undefined);
    const zipkin = resolveTelemetryConfig('s', { ...endpoint, OTEL_TRACES_EXPORTER: 'zipkin' });
    assert.equal(zipkin.tracesUrl, 'http://collector:4318/v1/traces');
    assert.deepEqual(zipkin.warnings, ['OTEL_TRACES_EXPORTER: only otlp and none are supported; ignored zipkin']);
  });

  it('telemetry config: OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES, which win over the defaults', () => {
    const attrs = resolveTelemetryConfig('deliver', {
      OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=payments,deployment.environment.name=prod,team=a%20b,service.name=from-attrs',
    });
    assert.equal(attrs.serviceName, 'from-attrs');
    assert.deepEqual(attrs.resourceAttributes, {
      'service.namespace': 'payments',
      'deployment.environment.name': 'prod',
      team: 'a b',
      'service.name': 'from-attrs',
    });
    const named = resolveTelemetryConfig('deliver', {
      OTEL_SERVICE_NAME: 'hooks-deliver',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs',
    });
    assert.equal(named.serviceName, 'hooks-deliver');
    assert.equal(named.resourceAttributes['service.name'], 'hooks-deliver');
  });

  it('telemetry config: the sampler and its ratio follow OTEL_TRACES_SAMPLER(_ARG); invalid values fall back with a warning', () => {
    const ratio = resolveTelemetryConfig('s', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
    assert.equal(ratio.sampler, 'parentbased_traceidratio');
    assert.equal(ratio.samplerRatio, 0.25);
    assert.deepEqual(ratio.warnings, []);
    assert.equal(resolveTelemetryConfig('s', { OTEL_TRACES_SAMPLER: 'always_off' }).sampler, 'always_off');
    const ignoredArg = resolveTelemetryConfig('s', { OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '0.5' });
    assert.equal(ignoredArg.samplerRatio, 1, 'the argument only applies to the ratio samplers');
    const bad = resolveTelemetryConfig('s', { OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '2' });
    assert.equal(bad.sampler, 'parentbased_always_on');
    assert.match(bad.warnings[0] ?? '', /^OTEL_TRACES_SAMPLER=sometimes is not one of always_on, /);
    const badRatio = resolveTelemetryConfig('s', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' });
    assert.equal(badRatio.samplerRatio, 1);
    assert.deepEqual(badRatio.warnings, ['OTEL_TRACES_SAMPLER_ARG=1.5 is not a ratio in [0, 1]; using 1']);
  });

  it('telemetry config: a malformed endpoint is skipped with a warning, and the next one used', () => {
    const c = resolveTelemetryConfig('s', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      HS_OTLP_ENDPOINT: 'http://alias:4318/v1/traces',
    });
    assert.equal(c.tracesUrl, 'http://alias:4318/v1/traces');
    assert.deepEqual(c.warnings, ['OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" is not an http(s) URL; ignored']);
    const grpc = resolveTelemetryConfig('s', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    assert.match(grpc.warnings[0] ?? '', /^OTEL_EXPORTER_OTLP_PROTOCOL=grpc: hookstream exports OTLP over HTTP/);
  });
});
