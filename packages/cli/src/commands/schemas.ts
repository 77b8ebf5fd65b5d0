import type { Schema } from '@hookstream/proto';
import { arg, type CommandSpec, collect, pretty, table } from './command.ts';

/** A schema for --json: `schemaJson` parsed into `schema`. */
function schemaJson(s: Schema): unknown {
  const { schemaJson: text, ...rest } = s;
  return { ...rest, schema: JSON.parse(text) as unknown };
}

const SOURCE_TYPE = [
  { name: 'source', description: 'the source id' },
  { name: 'type', description: 'the event type' },
] as const;

/** `hs schemas list|get|create|update|delete`. */
export const schemas: readonly CommandSpec[] = [
  {
    path: ['schemas', 'list'],
    summary: 'list schemas (source, event type, version, revision)',
    flags: ['source'],
    examples: ['hs schemas list --source stripe'],
    run: async ({ api, v, style }) => {
      const items = await collect(async (t) => {
        const p = await api.listSchemas({ source: v.source ?? '', pageToken: t });
        return { items: p.schemas, next: p.nextPageToken };
      });
      const rows = items.map((s) => [s.source, s.eventType, s.version, s.revision]);
      return { json: items.map(schemaJson), text: table([['SOURCE', 'TYPE', 'VERSION', 'REVISION'], ...rows], style) };
    },
  },
  {
    path: ['schemas', 'get'],
    summary: "print a source's JSON Schema for an event type",
    args: SOURCE_TYPE,
    examples: ['hs schemas get stripe charge.succeeded'],
    run: async ({ api, pos }) => {
      const s = await api.getSchema({ source: arg(pos, 2, 'source'), eventType: arg(pos, 3, 'event type') });
      return { json: schemaJson(s), text: pretty(s.schemaJson) };
    },
  },
  {
    path: ['schemas', 'create'],
    summary: 'create a JSON Schema (draft 2020-12 or draft-07) for an event type',
    args: SOURCE_TYPE,
    flags: [{ name: 'file', required: true }, 'description'],
    examples: ['hs schemas create stripe charge.succeeded -f charge.json'],
    run: async ({ api, pos, v, readFile }) => {
      const s = await api.createSchema({
        source: arg(pos, 2, 'source'),
        eventType: arg(pos, 3, 'event type'),
        schemaJson: readFile(),
        description: v.description ?? '',
      });
      return { json: schemaJson(s), text: `created schema ${s.source}/${s.eventType} version ${s.version}\n` };
    },
  },
  {
    path: ['schemas', 'update'],
    summary: 'replace a schema (its version grows by one)',
    args: SOURCE_TYPE,
    flags: [{ name: 'file', required: true }, 'description'],
    examples: ['hs schemas update stripe charge.succeeded -f charge-v2.json'],
    run: async ({ api, pos, v, readFile }) => {
      const source = arg(pos, 2, 'source');
      const eventType = arg(pos, 3, 'event type');
      const schemaText = readFile();
      // UpdateSchema replaces the description too: keep the stored one unless --description says otherwise.
      const description = v.description ?? (await api.getSchema({ source, eventType })).description;
      const s = await api.updateSchema({ source, eventType, schemaJson: schemaText, description, revision: 0 });
      return { json: schemaJson(s), text: `updated schema ${s.source}/${s.eventType} to version ${s.version}\n` };
    },
  },
  {
    path: ['schemas', 'delete'],
    summary: 'delete a schema',
    args: SOURCE_TYPE,
    confirm: ({ pos }) => `delete schema ${pos[2] ?? ''}/${pos[3] ?? ''}?`,
    examples: ['hs schemas delete stripe charge.succeeded --yes'],
    run: async ({ api, pos }) => {
      const source = arg(pos, 2, 'source');
      const eventType = arg(pos, 3, 'event type');
      await api.deleteSchema({ source, eventType });
      return { json: {}, text: `deleted schema ${source}/${eventType}\n` };
    },
  },
];
