import { arg, type Command, type CommandSpec, collect, pretty, table, withConfig } from './command.ts';
import { rotateSecret } from './rotate-secret.ts';

/** `hs endpoints enable|disable <id>`: SetEndpointEnabled, unconditional. */
function setEnabled(enabled: boolean): Command {
  return async ({ api, pos }) => {
    const e = await api.setEndpointEnabled({ id: arg(pos, 2, 'endpoint id'), enabled, revision: 0 });
    return { json: withConfig(e), text: `${enabled ? 'enabled' : 'disabled'} endpoint ${e.id} (revision ${e.revision})\n` };
  };
}

/** `hs endpoints list|get|create|update|enable|disable|rotate-secret|delete`. */
export const endpoints: readonly CommandSpec[] = [
  {
    path: ['endpoints', 'list'],
    summary: 'list endpoints (id, enabled, url, event types, revision)',
    examples: ['hs endpoints list'],
    run: async ({ api, style }) => {
      const items = await collect(async (t) => {
        const p = await api.listEndpoints({ pageToken: t });
        return { items: p.endpoints, next: p.nextPageToken };
      });
      const rows = items.map((e) => {
        const c = JSON.parse(e.configJson) as { enabled?: boolean; url?: string; eventTypes?: string[] };
        return [e.id, c.enabled === false ? 'no' : 'yes', c.url ?? '', (c.eventTypes ?? []).join(','), e.revision];
      });
      return { json: items.map(withConfig), text: table([['ID', 'ENABLED', 'URL', 'TYPES', 'REVISION'], ...rows], style) };
    },
  },
  {
    path: ['endpoints', 'get'],
    summary: 'print one endpoint record (secrets and header values redacted)',
    args: [{ name: 'id', description: 'the endpoint id' }],
    examples: ['hs endpoints get billing', 'hs endpoints get billing --json'],
    run: async ({ api, pos }) => {
      const e = await api.getEndpoint({ id: arg(pos, 2, 'endpoint id') });
      return { json: withConfig(e), text: pretty(e.configJson) };
    },
  },
  {
    path: ['endpoints', 'create'],
    summary: 'create an endpoint from a JSON record (docs/delivery.md, docs/routing.md)',
    flags: [{ name: 'file', required: true }],
    examples: ['hs endpoints create -f billing.json'],
    run: async ({ api, readFile }) => {
      const e = await api.createEndpoint({ configJson: readFile() });
      return { json: withConfig(e), text: `created endpoint ${e.id} (revision ${e.revision})\n` };
    },
  },
  {
    path: ['endpoints', 'update'],
    summary: 'replace an endpoint with a JSON record (a secret value "***" keeps the stored one)',
    flags: [{ name: 'file', required: true }],
    examples: ['cat billing.json | hs endpoints update -f -'],
    run: async ({ api, readFile }) => {
      const e = await api.updateEndpoint({ configJson: readFile() });
      return { json: withConfig(e), text: `updated endpoint ${e.id} (revision ${e.revision})\n` };
    },
  },
  {
    path: ['endpoints', 'enable'],
    summary: 'turn delivery to an endpoint on',
    args: [{ name: 'id', description: 'the endpoint id' }],
    examples: ['hs endpoints enable billing'],
    run: setEnabled(true),
  },
  {
    path: ['endpoints', 'disable'],
    summary: 'turn delivery to an endpoint off (its tasks are dead-lettered as endpoint_disabled)',
    args: [{ name: 'id', description: 'the endpoint id' }],
    examples: ['hs endpoints disable billing'],
    run: setEnabled(false),
  },
  {
    path: ['endpoints', 'rotate-secret'],
    summary: 'add a new signing secret; the others stay valid for the grace period',
    args: [{ name: 'id', description: 'the endpoint id' }],
    flags: ['secret', 'secret-id'],
    examples: ['hs endpoints rotate-secret billing'],
    run: rotateSecret,
  },
  {
    path: ['endpoints', 'delete'],
    summary: 'delete an endpoint',
    args: [{ name: 'id', description: 'the endpoint id' }],
    confirm: ({ pos }) => `delete endpoint ${pos[2] ?? ''}?`,
    examples: ['hs endpoints delete billing --yes'],
    run: async ({ api, pos }) => {
      const id = arg(pos, 2, 'endpoint id');
      await api.deleteEndpoint({ id });
      return { json: {}, text: `deleted endpoint ${id}\n` };
    },
  },
];
