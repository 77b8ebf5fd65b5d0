import { arg, type Command, collect, group, pretty, table } from './command.ts';

/** `hs schemas list|get|create|delete`. */
export const schemas: Command = group({
  list: async ({ api, v }) => {
    const items = await collect(async (t) => {
      const p = await api.listSchemas({ source: v.source ?? '', pageToken: t });
      return { items: p.schemas, next: p.nextPageToken };
    });
    const rows = items.map((s) => [s.source, s.eventType, s.version, s.revision]);
    return { json: items, text: table([['SOURCE', 'TYPE', 'VERSION', 'REVISION'], ...rows]) };
  },
  get: async ({ api, pos }) => {
    const s = await api.getSchema({ source: arg(pos, 2, 'source'), eventType: arg(pos, 3, 'event type') });
    return { json: s, text: pretty(s.schemaJson) };
  },
  create: async ({ api, pos, readFile }) => {
    const s = await api.createSchema({ source: arg(pos, 2, 'source'), eventType: arg(pos, 3, 'event type'), schemaJson: readFile() });
    return { json: s, text: `created schema ${s.source}/${s.eventType} version ${s.version}\n` };
  },
  delete: async ({ api, pos }) => {
    const source = arg(pos, 2, 'source');
    const eventType = arg(pos, 3, 'event type');
    await api.deleteSchema({ source, eventType });
    return { json: {}, text: `deleted schema ${source}/${eventType}\n` };
  },
});
