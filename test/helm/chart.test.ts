import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const helm = `${root}.tools/helm/helm`;
const chart = `${root}deploy/helm/hookstream`;

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

function render(...args: string[]): Manifest[] {
  if (!existsSync(helm)) throw new Error(`helm not found at ${helm}: run \`bash scripts/helm.sh ensure\` (make setup does)`);
  // ci/default-values.yaml: the default values plus the two Secrets every install must name.
  const out = execFileSync(helm, ['template', 'hs', chart, '-f', `${chart}/ci/default-values.yaml`, ...args], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Any = any;
const PIPELINE = ['ingest', 'verify', 'dedup', 'validate', 'route', 'deliver', 'analytics', 'control'];

describe('helm chart', () => {
  it('helm: every service has a Deployment with probes, resources, a hardened pod and its own command', () => {
    const manifests = render();
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    assert.deepEqual(deployments.map((d) => d.metadata.name.replace('hs-hookstream-', '')).sort(), [...PIPELINE].sort());
    for (const d of deployments as Any[]) {
      const name = d.metadata.name.replace('hs-hookstream-', '');
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      assert.deepEqual(c.args, [`services/${name}/src/main.ts`], `${name} command`);
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${name} requests`);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.topologySpreadConstraints.length > 0);
      assert.equal(c.envFrom[0].configMapRef.name, 'hs-hookstream');
    }
    const config = manifests.find((m) => m.kind === 'ConfigMap') as Any;
    assert.equal(config.data.HS_NATS_URL, 'nats://nats:4222');
    assert.equal(config.data.HS_HEALTH_PORT, '9100');
    assert.ok(manifests.some((m) => m.kind === 'Service' && m.metadata.name === 'hs-hookstream-ingest'));
    assert.ok(manifests.some((m) => m.kind === 'Service' && m.metadata.name === 'hs-hookstream-control'));
    const control = deployments.find((d) => d.metadata.name === 'hs-hookstream-control') as Any;
    const controlEnv = control.spec.template.spec.containers[0].env.map((e: Any) => e.name);
    assert.ok(controlEnv.includes('HS_CONTROL_TOKEN') && controlEnv.includes('HS_MASTER_KEY'), 'control gets its token and the master key');
    assert.ok(controlEnv.includes('HS_CONSOLE_PORT'), 'the web console is on by default');
    const controlPorts = control.spec.template.spec.containers[0].ports.map((p: Any) => `${p.name}:${p.containerPort}`);
    assert.ok(controlPorts.includes('console:8090'), controlPorts.join(' '));
    const controlService = manifests.find((m) => m.kind === 'Service' && m.metadata.name === 'hs-hookstream-control') as Any;
    assert.ok(controlService.spec.ports.some((p: Any) => p.name === 'console' && p.port === 8090));
    assert.deepEqual(
      manifests
        .filter((m) => m.kind === 'HorizontalPodAutoscaler')
        .map((m) => m.metadata.name)
        .sort(),
      ['hs-hookstream-deliver', 'hs-hookstream-ingest'],
    );
    assert.equal(
      manifests.some((m) => m.kind === 'Ingress'),
      false,
      'ingress is opt-in',
    );
  });

  it('helm: production values flow through (URLs, replicas, ingress, secrets, service monitor)', () => {
    const manifests = render('-f', `${chart}/examples/production.yaml`) as Any[];
    const config = manifests.find((m) => m.kind === 'ConfigMap');
    assert.equal(config.data.HS_STREAM_REPLICAS, '3');
    assert.match(config.data.HS_NATS_URL, /nats-2\.nats:4222/);
    assert.equal(config.data.HS_DELIVER_CONCURRENCY, '512');
    const verify = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'hs-hookstream-verify');
    assert.equal(verify.spec.replicas, 3);
    assert.equal(verify.spec.template.spec.containers[0].image, 'registry.example.com/platform/hookstream:0.1.0');
    const envNames = verify.spec.template.spec.containers[0].env.map((e: Any) => e.name);
    assert.ok(envNames.includes('HS_MASTER_KEY') && envNames.includes('HS_NATS_PASSWORD'));
    const ingest = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'hs-hookstream-ingest');
    assert.equal(ingest.spec.replicas, undefined, 'the HPA owns replicas');
    const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler' && m.metadata.name === 'hs-hookstream-ingest');
    assert.equal(hpa.spec.maxReplicas, 30);
    const ingress = manifests.find((m) => m.kind === 'Ingress');
    assert.equal(ingress.spec.rules[0].host, 'hooks.example.com');
    assert.equal(ingress.spec.tls[0].secretName, 'hooks-example-com-tls');
    assert.ok(manifests.some((m) => m.kind === 'ServiceMonitor'));
    assert.ok(manifests.some((m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === 'hs-hookstream-analytics'));
    const control = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'hs-hookstream-control');
    const pod = control.spec.template.spec;
    const usersEnv = pod.containers[0].env.find((e: Any) => e.name === 'HS_CONSOLE_USERS_FILE');
    assert.equal(usersEnv?.value, '/etc/hookstream/console/users');
    assert.ok(pod.volumes.some((v: Any) => v.secret?.secretName === 'hookstream-console-users'));
    assert.ok(pod.containers[0].volumeMounts.some((m: Any) => m.mountPath === '/etc/hookstream/console' && m.readOnly));
  });
});
