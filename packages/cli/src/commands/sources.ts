import { arg, type Command, collect, group, pretty, table } from './command.ts';
import { rotateSecret } from './rotate-secret.ts';

/** `hs sources list|get|create|update|rotate-secret|delete`. */
export const sources: Command = group({
  list: async ({ api }) => {
    const items = await collect(async (t) => {
      const p = await api.listSources({ pageToken: t });
      return { items: p.sources, next: p.nextPageToken };
    });
    const rows = items.map((s) => {
      const c = JSON.parse(s.configJson) as { enabled?: boolean; provider?: string; scheme?: { kind?: string } };
      return [s.id, c.enabled === false ? 'no' : 'yes', c.provider ?? c.scheme?.kind ?? '', s.revision];
    });
    return { json: items, text: table([['ID', 'ENABLED', 'SCHEME', 'REVISION'], ...rows]) };
  },
  get: async ({ api, pos }) => {
    const s = await api.getSource({ id: arg(pos, 2, 'source id') });
    return { json: s, text: pretty(s.configJson) };
  },
  create: async ({ api, readFile }) => {
    const s = await api.createSource({ configJson: readFile() });
    return { json: s, text: `created source ${s.id} (revision ${s.revision})\n` };
  },
  update: async ({ api, readFile }) => {
    const s = await api.updateSource({ configJson: readFile() });
    return { json: s, text: `updated source ${s.id} (revision ${s.revision})\n` };
  },
  'rotate-secret': rotateSecret,
  delete: async ({ api, pos }) => {
    const id = arg(pos, 2, 'source id');
    await api.deleteSource({ id });
    return { json: {}, text: `deleted source ${id}\n` };
  },
});
