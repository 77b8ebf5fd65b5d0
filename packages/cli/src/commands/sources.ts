import { arg, type CommandSpec, collect, pretty, table, withConfig } from './command.ts';
import { rotateSecret } from './rotate-secret.ts';

/** `hs sources list|get|create|update|rotate-secret|delete`. */
export const sources: readonly CommandSpec[] = [
  {
    path: ['sources', 'list'],
    summary: 'list sources (id, enabled, scheme, revision)',
    examples: ['hs sources list', 'hs sources list --json'],
    run: async ({ api, style }) => {
      const items = await collect(async (t) => {
        const p = await api.listSources({ pageToken: t });
        return { items: p.sources, next: p.nextPageToken };
      });
      const rows = items.map((s) => {
        const c = JSON.parse(s.configJson) as { enabled?: boolean; provider?: string; scheme?: { kind?: string } };
        return [s.id, c.enabled === false ? 'no' : 'yes', c.provider ?? c.scheme?.kind ?? '', s.revision];
      });
      return { json: items.map(withConfig), text: table([['ID', 'ENABLED', 'SCHEME', 'REVISION'], ...rows], style) };
    },
  },
  {
    path: ['sources', 'get'],
    summary: 'print one source record (secrets redacted)',
    args: [{ name: 'id', description: 'the source id' }],
    examples: ['hs sources get stripe'],
    run: async ({ api, pos }) => {
      const s = await api.getSource({ id: arg(pos, 2, 'source id') });
      return { json: withConfig(s), text: pretty(s.configJson) };
    },
  },
  {
    path: ['sources', 'create'],
    summary: 'create a source from a JSON record (docs/verification.md)',
    flags: [{ name: 'file', required: true }],
    examples: ['hs sources create -f stripe.json'],
    run: async ({ api, readFile }) => {
      const s = await api.createSource({ configJson: readFile() });
      return { json: withConfig(s), text: `created source ${s.id} (revision ${s.revision})\n` };
    },
  },
  {
    path: ['sources', 'update'],
    summary: 'replace a source with a JSON record (a secret value "***" keeps the stored one)',
    flags: [{ name: 'file', required: true }],
    examples: ['hs sources update -f stripe.json'],
    run: async ({ api, readFile }) => {
      const s = await api.updateSource({ configJson: readFile() });
      return { json: withConfig(s), text: `updated source ${s.id} (revision ${s.revision})\n` };
    },
  },
  {
    path: ['sources', 'rotate-secret'],
    summary: 'add a new verification secret; the others stay valid for the grace period',
    args: [{ name: 'id', description: 'the source id' }],
    flags: ['secret', 'secret-id'],
    examples: ['hs sources rotate-secret stripe --secret whsec_… --secret-id k2'],
    run: rotateSecret,
  },
  {
    path: ['sources', 'delete'],
    summary: 'delete a source',
    args: [{ name: 'id', description: 'the source id' }],
    confirm: ({ pos }) => `delete source ${pos[2] ?? ''}?`,
    examples: ['hs sources delete stripe --yes'],
    run: async ({ api, pos }) => {
      const id = arg(pos, 2, 'source id');
      await api.deleteSource({ id });
      return { json: {}, text: `deleted source ${id}\n` };
    },
  },
];
