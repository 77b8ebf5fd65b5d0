import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const helm = `${root}.tools/helm/helm`;
const chart = `${root}deploy/helm/hookstream`;
const SERVICES = ['analytics', 'control', 'dedup', 'deliver', 'ingest', 'route', 'validate', 'verify'];

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Any = any;

function helmTemplate(args: string[]): string {
  if (!existsSync(helm)) throw new Error(`helm not found at ${helm}: run \`bash scripts/helm.sh ensure\` (make setup does)`);
  // ci/default-values.yaml: the default values plus the two Secrets every install must name.
  return execFileSync(helm, ['template', 'hs', chart, '-f', `${chart}/ci/default-values.yaml`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The rendered Deployments by service name. */
function deployments(...set: string[]): Map<string, Any> {
  const docs = parseAllDocuments(helmTemplate(set.flatMap((s) => ['--set', s]))).map((d) => d.toJS() as Any);
  return new Map(docs.filter((m) => m?.kind === 'Deployment').map((d) => [d.metadata.name.replace('hs-hookstream-', ''), d]));
}

/**
 * The file behind an env variable's path: the mount whose directory holds
 * it, that mount's Secret volume, and the Secret key projected to its name.
 */
function secretFileOf(d: Any, variable: string): { secret: string; key: string; readOnly: boolean } {
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  const path = c.env.find((e: Any) => e.name === variable)?.value;
  assert.equal(typeof path, 'string', `${d.metadata.name}: ${variable} is set`);
  const mount = c.volumeMounts.find((m: Any) => m.mountPath === dirname(path));
  assert.ok(mount, `${d.metadata.name}: a volume is mounted at ${dirname(path)}`);
  assert.equal(mount.subPath, undefined, 'no subPath: a rotated Secret reaches the pod');
  const volume = pod.volumes.find((v: Any) => v.name === mount.name);
  const item = volume?.secret?.items.find((i: Any) => i.path === basename(path));
  assert.ok(item, `${d.metadata.name}: ${variable} (${path}) comes from a Secret key`);
  return { secret: volume.secret.secretName, key: item.key, readOnly: mount.readOnly === true };
}

const NATS_FILE_ENV = [
  'HS_NATS_TLS_CA',
  'HS_NATS_TLS_CERT',
  'HS_NATS_TLS_KEY',
  'HS_NATS_TLS_FIRST',
  'HS_NATS_CREDS',
  'HS_NATS_NKEY_SEED_FILE',
];

describe('helm chart: NATS credentials', () => {
  it('helm nats: the default values mount nothing and set no NATS file variables', () => {
    const all = deployments();
    assert.deepEqual([...all.keys()].sort(), SERVICES);
    for (const [name, d] of all) {
      const c = d.spec.template.spec.containers[0];
      assert.deepEqual(
        (c.env ?? []).map((e: Any) => e.name).filter((n: string) => NATS_FILE_ENV.includes(n)),
        [],
        name,
      );
      assert.ok(!d.spec.template.spec.volumes.some((v: Any) => v.name.startsWith('nats-')), name);
    }
  });

  it('helm nats: TLS (CA + client certificate) and a .creds file reach every service as read-only files', () => {
    const all = deployments(
      'nats.url=tls://nats-0.nats:4222',
      'nats.tls.existingSecret=hookstream-nats-tls',
      'nats.tls.handshakeFirst=true',
      'nats.credsSecret.name=hookstream-nats-creds',
      'nats.credsSecret.key=hookstream.creds',
    );
    assert.deepEqual([...all.keys()].sort(), SERVICES);
    for (const [name, d] of all) {
      assert.deepEqual(secretFileOf(d, 'HS_NATS_TLS_CA'), { secret: 'hookstream-nats-tls', key: 'ca.crt', readOnly: true }, name);
      assert.deepEqual(secretFileOf(d, 'HS_NATS_TLS_CERT'), { secret: 'hookstream-nats-tls', key: 'tls.crt', readOnly: true }, name);
      assert.deepEqual(secretFileOf(d, 'HS_NATS_TLS_KEY'), { secret: 'hookstream-nats-tls', key: 'tls.key', readOnly: true }, name);
      assert.deepEqual(
        secretFileOf(d, 'HS_NATS_CREDS'),
        { secret: 'hookstream-nats-creds', key: 'hookstream.creds', readOnly: true },
        name,
      );
      const env = d.spec.template.spec.containers[0].env;
      assert.equal(env.find((e: Any) => e.name === 'HS_NATS_TLS_FIRST')?.value, 'true', name);
      assert.equal(
        env.some((e: Any) => e.name === 'HS_NATS_NKEY_SEED_FILE' || e.name === 'HS_NATS_USER'),
        false,
        `${name}: one auth method`,
      );
    }
  });

  it('helm nats: an NKey seed Secret, and a CA-only TLS Secret', () => {
    const all = deployments(
      'nats.nkeySecret.name=hookstream-nats-nkey',
      'nats.tls.existingSecret=nats-ca',
      'nats.tls.certKey=',
      'nats.tls.keyKey=',
    );
    for (const [name, d] of all) {
      assert.deepEqual(secretFileOf(d, 'HS_NATS_NKEY_SEED_FILE'), { secret: 'hookstream-nats-nkey', key: 'seed', readOnly: true }, name);
      assert.deepEqual(secretFileOf(d, 'HS_NATS_TLS_CA'), { secret: 'nats-ca', key: 'ca.crt', readOnly: true }, name);
      const env = d.spec.template.spec.containers[0].env.map((e: Any) => e.name);
      assert.ok(!env.includes('HS_NATS_TLS_CERT') && !env.includes('HS_NATS_TLS_KEY') && !env.includes('HS_NATS_CREDS'), name);
    }
  });

  it('helm nats: two auth methods, or a client certificate without its key, fail the render and say why', () => {
    assert.throws(
      () => helmTemplate(['--set', 'nats.existingSecret=hookstream-nats', '--set', 'nats.credsSecret.name=hookstream-nats-creds']),
      /nats\.existingSecret, nats\.credsSecret: set only one NATS authentication method/,
    );
    assert.throws(
      () => helmTemplate(['--set', 'nats.tls.existingSecret=t', '--set', 'nats.tls.keyKey=']),
      /nats\.tls\.certKey and nats\.tls\.keyKey: set both/,
    );
  });
});
