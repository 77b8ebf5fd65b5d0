import { arg, type Command, collect, group, pretty, table } from './command.ts';
import { rotateSecret } from './rotate-secret.ts';

/** `hs endpoints list|get|create|update|rotate-secret|delete`. */
export const endpoints: Command = group({
  list: async ({ api }) => {
    const items = await collect(async (t) => {
      const p = await api.listEndpoints({ pageToken: t });
      return { items: p.endpoints, next: p.nextPageToken };
    });
    const rows = items.map((e) => {
      const c = JSON.parse(e.configJson) as { enabled?: boolean; url?: string; eventTypes?: string[] };
      return [e.id, c.enabled === false ? 'no' : 'yes', c.url ?? '', (c.eventTypes ?? []).join(','), e.revision];
    });
    return { json: items, text: table([['ID', 'ENABLED', 'URL', 'TYPES', 'REVISION'], ...rows]) };
  },
  get: async ({ api, pos }) => {
    const e = await api.getEndpoint({ id: arg(pos, 2, 'endpoint id') });
    return { json: e, text: pretty(e.configJson) };
  },
  create: async ({ api, readFile }) => {
    const e = await api.createEndpoint({ configJson: readFile() });
    return { json: e, text: `created endpoint ${e.id} (revision ${e.revision})\n` };
  },
  update: async ({ api, readFile }) => {
    const e = await api.updateEndpoint({ configJson: readFile() });
    return { json: e, text: `updated endpoint ${e.id} (revision ${e.revision})\n` };
  },
  'rotate-secret': rotateSecret,
  delete: async ({ api, pos }) => {
    const id = arg(pos, 2, 'endpoint id');
    await api.deleteEndpoint({ id });
    return { json: {}, text: `deleted endpoint ${id}\n` };
  },
});
