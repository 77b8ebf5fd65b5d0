import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const helm = `${root}.tools/helm/helm`;
const chart = `${root}deploy/helm/hookstream`;
const DEFAULTS = `${chart}/ci/default-values.yaml`;
const PRODUCTION = `${chart}/examples/production.yaml`;
const KITCHEN_SINK = `${chart}/ci/kitchen-sink-values.yaml`;
const SERVICES = ['analytics', 'control', 'dedup', 'deliver', 'ingest', 'route', 'validate', 'verify'];

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Any = any;

/** One model class per kind the chart renders; validate() checks the object against Kubernetes' OpenAPI schema. */
const MODELS: Record<string, new (data: Any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1 Ingress': Ingress,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
  'v1 ServiceAccount': ServiceAccount,
  'monitoring.coreos.com/v1 ServiceMonitor': ServiceMonitor,
};

function helmRun(args: string[]): string {
  if (!existsSync(helm)) throw new Error(`helm not found at ${helm}: run \`bash scripts/helm.sh ensure\` (make setup does)`);
  return execFileSync(helm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function render(...args: string[]): Any[] {
  return parseAllDocuments(helmRun(['template', 'hs', chart, ...args]))
    .map((d) => d.toJS() as Any)
    .filter((m) => m !== null);
}

/** helm's stderr (and stdout) when a command fails; fails the test when it succeeds. */
function helmFailure(args: string[]): string {
  try {
    helmRun(args);
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  assert.fail(`helm ${args.join(' ')} succeeded`);
}

/** Validates every manifest offline against Kubernetes' (and the Prometheus operator's) schemas. */
function validateAll(manifests: Any[], label: string): void {
  assert.ok(manifests.length > 0, label);
  for (const m of manifests) {
    const Model = MODELS[`${m.apiVersion} ${m.kind}`];
    assert.ok(Model, `${label}: no schema for ${m.apiVersion} ${m.kind} ${m.metadata?.name}`);
    assert.doesNotThrow(() => new Model(m).validate(), `${label}: ${m.kind} ${m.metadata?.name} matches its schema`);
  }
}

/** The ports each service accepts connections on under the NetworkPolicy (the rest: only `health`). */
const INGRESS_PORTS: Record<string, string[]> = { ingest: ['health', 'http'], control: ['console', 'grpc', 'health'] };

const byKind = (manifests: Any[], kind: string): Any[] => manifests.filter((m) => m.kind === kind);
const named = (manifests: Any[], kind: string, name: string): Any => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  assert.ok(found, `${kind} ${name} is rendered`);
  return found;
};

describe('helm chart: conventions', () => {
  it('helm: default, production and kitchen-sink renders validate against the Kubernetes schemas', () => {
    // Scenario: the validator itself rejects a broken manifest, so a pass below means something.
    assert.throws(() => new Deployment({ metadata: { name: 'x' }, spec: { replicas: 'two' } } as Any).validate());
    const renders = { defaults: render('-f', DEFAULTS), production: render('-f', PRODUCTION), kitchenSink: render('-f', KITCHEN_SINK) };
    for (const [label, manifests] of Object.entries(renders)) validateAll(manifests, label);
    // The kitchen sink renders every kind the chart has.
    assert.deepEqual([...new Set(renders.kitchenSink.map((m) => `${m.apiVersion} ${m.kind}`))].sort(), Object.keys(MODELS).sort());
  });

  it('helm: a typo in a value name or a wrong type fails lint and template with the schema message', () => {
    for (const command of [
      ['lint', '--strict', chart, '-f', DEFAULTS],
      ['template', 'hs', chart, '-f', DEFAULTS],
    ]) {
      const typo = helmFailure([...command, '--set', 'service.ingest.replicas=3']);
      assert.match(typo, /values don't meet the specifications of the schema/);
      assert.match(typo, /additional properties 'service' not allowed/);
      const nested = helmFailure([...command, '--set', 'services.ingest.replica=3']);
      assert.match(nested, /at '\/services\/ingest': additional properties 'replica' not allowed/);
      const wrongType = helmFailure([...command, '--set', 'services.ingest.replicas=two']);
      assert.match(wrongType, /at '\/services\/ingest\/replicas': got string, want integer/);
      const badUser = helmFailure([...command, '--set', 'services.control.console.users[0]=ana viewer not-a-digest']);
      assert.match(badUser, /at '\/services\/control\/console\/users\/0': '.*' does not match pattern/);
    }
  });

  it('helm: without the master key and control token Secrets the render fails saying how to create them', () => {
    const both = helmFailure(['template', 'hs', chart]);
    assert.match(both, /secrets\.(masterKey|controlToken)\.existingSecret is required: create it with `kubectl create secret generic/);
    const token = helmFailure(['template', 'hs', chart, '--set', 'secrets.masterKey.existingSecret=mk']);
    assert.match(
      token,
      /secrets\.controlToken\.existingSecret is required: create it with `kubectl create secret generic hookstream-control-token --from-literal=token=/,
    );
    const masterKey = helmFailure(['template', 'hs', chart, '--set', 'secrets.controlToken.existingSecret=ct']);
    assert.match(
      masterKey,
      /secrets\.masterKey\.existingSecret is required: create it with `kubectl create secret generic hookstream-master-key --from-literal=master-key=/,
    );
    const generated = helmFailure(['template', 'hs', chart, '--set', 'secrets.create=true', '--set', 'secrets.controlTokenValue=t']);
    assert.match(generated, /secrets\.masterKeyValue is required with secrets\.create=true/);
  });

  it('helm: existing Secrets are referenced by name and key; no Secret is created for them', () => {
    const manifests = render('-f', PRODUCTION, '--set', 'secrets.masterKey.key=k1');
    assert.deepEqual(byKind(manifests, 'Secret'), []);
    for (const d of byKind(manifests, 'Deployment')) {
      const env = d.spec.template.spec.containers[0].env;
      const masterKey = env.find((e: Any) => e.name === 'HS_MASTER_KEY');
      const needsKey = ['control', 'ingest', 'verify', 'deliver'].includes(d.metadata.labels['app.kubernetes.io/component']);
      assert.deepEqual(
        masterKey?.valueFrom.secretKeyRef,
        needsKey ? { name: 'hookstream-master-key', key: 'k1' } : undefined,
        d.metadata.name,
      );
    }
    const control = named(manifests, 'Deployment', 'hs-hookstream-control');
    const token = control.spec.template.spec.containers[0].env.find((e: Any) => e.name === 'HS_CONTROL_TOKEN');
    assert.deepEqual(token.valueFrom.secretKeyRef, { name: 'hookstream-control-token', key: 'token' });
  });

  it('helm: secrets.create makes one marked Secret, and every pod reading it carries its checksum', () => {
    const manifests = render('-f', KITCHEN_SINK);
    const secret = named(manifests, 'Secret', 'hs-hooks-secrets');
    assert.equal(secret.metadata.annotations['hookstream.dev/not-for-production'], 'created from values by secrets.create=true');
    assert.equal(Buffer.from(secret.data['master-key'], 'base64').toString(), 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=');
    assert.equal(Buffer.from(secret.data.token, 'base64').toString(), 'kitchen-sink-control-token');
    for (const d of byKind(manifests, 'Deployment')) {
      const annotations = d.spec.template.metadata.annotations;
      assert.match(annotations['checksum/config'], /^[0-9a-f]{64}$/, d.metadata.name);
      assert.match(annotations['checksum/secrets'], /^[0-9a-f]{64}$/, d.metadata.name);
      assert.equal(annotations['hookstream.dev/rollout-token'], '2026-12-01T03:00', d.metadata.name);
    }
    const control = named(manifests, 'Deployment', 'hs-hooks-control');
    assert.match(control.spec.template.metadata.annotations['checksum/console-users'], /^[0-9a-f]{64}$/);
    const users = named(manifests, 'Secret', 'hs-hooks-console-users');
    assert.match(users.stringData.users, /^ana viewer [0-9a-f]{64}\nolu operator [0-9a-f]{64}\n$/);
    const pod = control.spec.template.spec;
    assert.ok(pod.volumes.some((v: Any) => v.name === 'console-users' && v.secret.secretName === 'hs-hooks-console-users'));
    assert.equal(pod.containers[0].env.find((e: Any) => e.name === 'HS_CONSOLE_USERS_FILE')?.value, '/etc/hookstream/console/users');
  });

  it('helm: a change to a chart-owned Secret or ConfigMap changes the pods checksums (and so rolls them)', () => {
    const annotations = (...set: string[]) => {
      const d = named(render('-f', KITCHEN_SINK, ...set.flatMap((s) => ['--set', s])), 'Deployment', 'hs-hooks-control');
      return d.spec.template.metadata.annotations;
    };
    const before = annotations();
    const users = annotations(
      'services.control.console.users[0]=ana admin 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    assert.notEqual(users['checksum/console-users'], before['checksum/console-users']);
    assert.equal(users['checksum/config'], before['checksum/config']);
    const token = annotations('secrets.controlTokenValue=rotated');
    assert.notEqual(token['checksum/secrets'], before['checksum/secrets']);
    const config = annotations('logLevel=info');
    assert.notEqual(config['checksum/config'], before['checksum/config']);
  });

  it('helm: NetworkPolicy lets in only ingest and control (and the scraper), and only deliver out to the internet', () => {
    const manifests = render('-f', PRODUCTION);
    const policies = new Map(
      byKind(manifests, 'NetworkPolicy').map((p) => [p.spec.podSelector.matchLabels['app.kubernetes.io/component'], p]),
    );
    assert.deepEqual([...policies.keys()].sort(), SERVICES);
    for (const [name, p] of policies) {
      assert.deepEqual(p.spec.policyTypes, ['Ingress', 'Egress'], name);
      assert.equal(p.spec.podSelector.matchLabels['app.kubernetes.io/instance'], 'hs', name);
      const ports = p.spec.ingress.flatMap((r: Any) => r.ports.map((x: Any) => x.port)).sort();
      const expected = INGRESS_PORTS[name] ?? ['health'];
      assert.deepEqual(ports, expected, `${name} ingress ports`);
      const scrape = p.spec.ingress.find((r: Any) => r.ports[0].port === 'health');
      assert.deepEqual(scrape.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], name);
      const egress = p.spec.egress;
      const onPort = (port: number) => egress.filter((r: Any) => (r.ports ?? []).some((x: Any) => x.port === port));
      assert.deepEqual(
        onPort(53)[0].ports,
        [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        `${name} resolves DNS`,
      );
      const nats = onPort(4222);
      assert.deepEqual(
        nats[0].to,
        [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'nats' } } }],
        `${name} reaches NATS`,
      );
      assert.equal(onPort(8443).length, name === 'analytics' || name === 'control' ? 1 : 0, `${name} reaches ClickHouse`);
      const internet = egress.filter((r: Any) => r.to?.some((t: Any) => t.ipBlock?.cidr === '0.0.0.0/0'));
      assert.equal(internet.length, name === 'deliver' ? 1 : 0, `${name} reaches the internet`);
    }
    const deliverInternet = policies.get('deliver').spec.egress.find((r: Any) => r.to?.[0].ipBlock);
    assert.deepEqual(deliverInternet.to, [
      { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'] } },
    ]);
    const ingest = policies.get('ingest').spec.ingress.find((r: Any) => r.ports[0].port === 'http');
    assert.deepEqual(ingest.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }]);
    const control = policies.get('control').spec.ingress.find((r: Any) => r.ports.some((x: Any) => x.port === 'grpc'));
    assert.deepEqual(control.from, [{ podSelector: {} }], 'control: this namespace only by default');
    assert.deepEqual(byKind(render('-f', DEFAULTS), 'NetworkPolicy'), [], 'NetworkPolicy is opt-in');
  });

  it('helm: the ServiceMonitor selects only its own release in its own namespace', () => {
    const one = render('-f', PRODUCTION, '--namespace', 'hooks');
    const monitor = named(one, 'ServiceMonitor', 'hs-hookstream');
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: ['hooks'] });
    const selector = monitor.spec.selector.matchLabels;
    assert.equal(selector['app.kubernetes.io/instance'], 'hs');
    const metrics = byKind(one, 'Service').filter((s) => s.metadata.name.endsWith('-metrics'));
    assert.equal(metrics.length, SERVICES.length);
    for (const s of metrics) {
      for (const [k, v] of Object.entries(selector)) assert.equal(s.metadata.labels[k], v, `${s.metadata.name} ${k}`);
    }
    // Scenario: a second release in the same namespace; neither monitor selects the other's Services.
    const other = parseAllDocuments(helmRun(['template', 'other', chart, '-f', PRODUCTION, '--namespace', 'hooks']))
      .map((d) => d.toJS() as Any)
      .filter((m) => m?.kind === 'Service' && m.metadata.name.endsWith('-metrics'));
    assert.equal(other.length, SERVICES.length);
    for (const s of other) {
      assert.ok(
        Object.entries(selector).some(([k, v]) => s.metadata.labels[k] !== v),
        `${s.metadata.name} is not selected by release hs`,
      );
    }
  });

  it('helm: names, ServiceAccount, placement and grace period follow the values (global, then per service)', () => {
    const manifests = render('-f', KITCHEN_SINK);
    const sa = named(manifests, 'ServiceAccount', 'hookstream-runner');
    assert.equal(sa.automountServiceAccountToken, false);
    assert.equal(sa.metadata.annotations['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/hookstream');
    const deployments = new Map(byKind(manifests, 'Deployment').map((d) => [d.metadata.name, d]));
    assert.deepEqual([...deployments.keys()].sort(), SERVICES.map((s) => `hs-hooks-${s}`).sort(), 'nameOverride');
    for (const [name, d] of deployments) {
      const pod = d.spec.template.spec;
      const meta = d.spec.template.metadata;
      assert.equal(pod.serviceAccountName, 'hookstream-runner', name);
      assert.equal(pod.automountServiceAccountToken, false, name);
      assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'hookstream', effect: 'NoSchedule' }], name);
      assert.equal(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.length, 1, name);
      assert.deepEqual(
        pod.topologySpreadConstraints.map((t: Any) => t.topologyKey),
        ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'],
        name,
      );
      assert.equal(meta.labels['example.com/cost-centre'], '42', name);
      assert.equal(meta.annotations['example.com/team'], 'platform', name);
      const isIngest = name.endsWith('-ingest');
      const isDeliver = name.endsWith('-deliver');
      assert.equal(pod.priorityClassName, isIngest ? 'hookstream-critical' : 'hookstream-normal', name);
      assert.equal(meta.annotations['example.com/exposed'], isIngest ? 'true' : undefined, name);
      assert.equal(pod.terminationGracePeriodSeconds, isDeliver ? 90 : 45, name);
      assert.deepEqual(pod.nodeSelector, isDeliver ? { 'example.com/egress': 'true' } : { 'kubernetes.io/os': 'linux' }, name);
    }
    const full = render('-f', DEFAULTS, '--set', 'fullnameOverride=gateway', '--set', 'serviceAccount.create=false');
    assert.deepEqual(
      byKind(full, 'Deployment')
        .map((d) => d.metadata.name)
        .sort(),
      SERVICES.map((s) => `gateway-${s}`).sort(),
    );
    assert.deepEqual(byKind(full, 'ServiceAccount'), []);
    const pod = named(full, 'Deployment', 'gateway-ingest').spec.template.spec;
    assert.equal(pod.serviceAccountName, 'default');
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    assert.equal(pod.priorityClassName, undefined);
  });

  it('helm: ClickHouse TLS mounts the CA for analytics and control and needs an https:// URL', () => {
    const manifests = render('-f', KITCHEN_SINK);
    const withCa = byKind(manifests, 'Deployment').filter((d) =>
      d.spec.template.spec.containers[0].env.some((e: Any) => e.name === 'NODE_EXTRA_CA_CERTS'),
    );
    assert.deepEqual(withCa.map((d) => d.metadata.labels['app.kubernetes.io/component']).sort(), ['analytics', 'control']);
    for (const d of withCa) {
      const pod = d.spec.template.spec;
      const env = pod.containers[0].env.find((e: Any) => e.name === 'NODE_EXTRA_CA_CERTS');
      const mount = pod.containers[0].volumeMounts.find((m: Any) => m.mountPath === '/etc/hookstream/clickhouse');
      const volume = pod.volumes.find((v: Any) => v.name === mount?.name);
      assert.equal(env.value, '/etc/hookstream/clickhouse/ca.crt', d.metadata.name);
      assert.equal(mount.readOnly, true, d.metadata.name);
      assert.deepEqual(volume.secret, { secretName: 'clickhouse-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }] }, d.metadata.name);
    }
    const plain = helmFailure(['template', 'hs', chart, '-f', DEFAULTS, '--set', 'clickhouse.tls.existingSecret=ca']);
    assert.match(plain, /clickhouse\.tls\.existingSecret needs an https:\/\/ clickhouse\.url/);
  });

  it('helm: OTLP values set the standard OTEL_* variables on every service', () => {
    const manifests = render('-f', KITCHEN_SINK, '--namespace', 'hooks');
    for (const d of byKind(manifests, 'Deployment')) {
      const env = new Map<string, Any>(d.spec.template.spec.containers[0].env.map((e: Any) => [e.name, e]));
      assert.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://otel-collector.observability:4318', d.metadata.name);
      assert.deepEqual(env.get('OTEL_EXPORTER_OTLP_HEADERS')?.valueFrom, {
        secretKeyRef: { name: 'hookstream-otlp-headers', key: 'headers' },
      });
      assert.equal(env.get('OTEL_TRACES_SAMPLER')?.value, 'parentbased_traceidratio');
      assert.equal(env.get('OTEL_TRACES_SAMPLER_ARG')?.value, '0.25');
      assert.equal(
        env.get('OTEL_RESOURCE_ATTRIBUTES')?.value,
        'service.namespace=hs,k8s.namespace.name=hooks,deployment.environment.name=kitchen-sink',
      );
      assert.equal(env.has('OTEL_SERVICE_NAME'), false, 'each service names itself');
    }
    const defaults = named(render('-f', DEFAULTS), 'Deployment', 'hs-hookstream-ingest');
    const names = defaults.spec.template.spec.containers[0].env.map((e: Any) => e.name);
    assert.deepEqual(
      names.filter((n: string) => n.startsWith('OTEL_')),
      ['OTEL_RESOURCE_ATTRIBUTES'],
      'no endpoint by default',
    );
  });
});
