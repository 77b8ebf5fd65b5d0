import { parseEndpointConfig, parseSourceConfig, redactSecrets } from '@hookstream/models';
import type { ControlApi } from '@hookstream/proto';
import { parse as parseYaml } from 'yaml';

/** A schema entry of a hookstream.yaml. */
export interface DesiredSchema {
  readonly source: string;
  readonly eventType: string;
  readonly schema: unknown;
  readonly description: string;
}

/** What a hookstream.yaml asks for; a list left out of the file is `undefined` (never pruned). */
export interface Desired {
  readonly sources: readonly Record<string, unknown>[] | undefined;
  readonly endpoints: readonly Record<string, unknown>[] | undefined;
  readonly schemas: readonly DesiredSchema[] | undefined;
}

/** What the control plane holds now (records as it answers them: defaults filled, secrets redacted). */
export interface Current {
  readonly sources: ReadonlyMap<string, Record<string, unknown>>;
  readonly endpoints: ReadonlyMap<string, Record<string, unknown>>;
  readonly schemas: ReadonlyMap<string, { readonly schema: unknown; readonly description: string }>;
}

/** One change `hs apply` makes. */
export type Change =
  | {
      readonly op: 'create' | 'update';
      readonly kind: 'source' | 'endpoint';
      readonly id: string;
      readonly record: unknown;
      readonly fields: string[];
    }
  | { readonly op: 'delete'; readonly kind: 'source' | 'endpoint'; readonly id: string }
  | {
      readonly op: 'create' | 'update';
      readonly kind: 'schema';
      readonly id: string;
      readonly schema: DesiredSchema;
      readonly fields: string[];
    }
  | { readonly op: 'delete'; readonly kind: 'schema'; readonly id: string; readonly source: string; readonly eventType: string };

/** A hookstream.yaml that cannot be applied; nothing was sent. */
export class ApplyFileError extends Error {
  override name = 'ApplyFileError';
}

function list(doc: Record<string, unknown>, key: string): Record<string, unknown>[] | undefined {
  const value = doc[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
    throw new ApplyFileError(`${key}: must be a list of mappings`);
  }
  return value as Record<string, unknown>[];
}

/**
 * Parses a hookstream.yaml (`sources:`, `endpoints:`, `schemas:` lists;
 * source and endpoint entries are records as docs/verification.md and
 * docs/delivery.md describe them, schema entries `{source, eventType,
 * schema, description?}`). Each source and endpoint goes through the
 * runtime's parser, so a bad entry fails here, before anything is sent.
 * Throws {@link ApplyFileError} naming the entry.
 */
export function parseDesired(text: string): Desired {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ApplyFileError(`not YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ApplyFileError('the top level must be a mapping');
  const top = doc as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (!['sources', 'endpoints', 'schemas'].includes(key)) throw new ApplyFileError(`unknown key ${JSON.stringify(key)}`);
  }
  const check = (items: Record<string, unknown>[] | undefined, key: string, parse: (input: unknown) => { id: string }) => {
    const seen = new Set<string>();
    for (const [i, item] of (items ?? []).entries()) {
      let id: string;
      try {
        id = parse(item).id;
      } catch (err) {
        throw new ApplyFileError(`${key}[${i}]: ${(err as Error).message}`);
      }
      if (seen.has(id)) throw new ApplyFileError(`${key}[${i}]: id ${id} is listed twice`);
      seen.add(id);
    }
    return items;
  };
  const schemas = list(top, 'schemas')?.map((s, i): DesiredSchema => {
    if (typeof s.source !== 'string' || s.source === '') throw new ApplyFileError(`schemas[${i}]: source is required`);
    if (typeof s.eventType !== 'string' || s.eventType === '') throw new ApplyFileError(`schemas[${i}]: eventType is required`);
    if (typeof s.schema !== 'object' && typeof s.schema !== 'boolean') throw new ApplyFileError(`schemas[${i}]: schema is required`);
    return {
      source: s.source,
      eventType: s.eventType,
      schema: s.schema,
      description: typeof s.description === 'string' ? s.description : '',
    };
  });
  return {
    sources: check(list(top, 'sources'), 'sources', parseSourceConfig),
    endpoints: check(list(top, 'endpoints'), 'endpoints', parseEndpointConfig),
    schemas,
  };
}

/** JSON with object keys sorted, for comparing records whatever their key order. Pure. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A record for comparison: secrets by id only, header and URL query values
 * as the control plane answers them (redacted: they compare by name). Pure.
 */
function comparable(record: Record<string, unknown>): Record<string, unknown> {
  const shown = redactSecrets(record);
  const secrets = shown.secrets;
  if (!Array.isArray(secrets)) return shown;
  return { ...shown, secrets: secrets.map((s: { id?: unknown }) => String(s.id)).sort() };
}

/** Top-level fields whose values differ. Pure. */
function changedFields(want: Record<string, unknown>, have: Record<string, unknown>): string[] {
  const a = comparable(want);
  const b = comparable(have);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => stableJson(a[k]) !== stableJson(b[k]));
}

/**
 * The changes that make `current` what `desired` says: creates and updates
 * of every listed record that is missing or differs (each desired record is
 * normalised by the runtime's parser first, so defaults compare equal;
 * secrets compare by id, headers and URL query values by name), and with `prune` deletes of records not listed —
 * only for the kinds the file lists. Sources first, then endpoints, then
 * schemas; deletes in the reverse order. Pure.
 */
export function plan(desired: Desired, current: Current, prune: boolean): Change[] {
  const changes: Change[] = [];
  const deletes: Change[] = [];
  const records = (
    kind: 'source' | 'endpoint',
    items: readonly Record<string, unknown>[] | undefined,
    parse: (i: unknown) => { id: string },
  ) => {
    if (items === undefined) return;
    const have = kind === 'source' ? current.sources : current.endpoints;
    const listed = new Set<string>();
    for (const item of items) {
      const normal = JSON.parse(JSON.stringify(parse(item))) as Record<string, unknown> & { id: string };
      listed.add(normal.id);
      const existing = have.get(normal.id);
      if (existing === undefined) changes.push({ op: 'create', kind, id: normal.id, record: item, fields: [] });
      else {
        const fields = changedFields(normal, existing);
        if (fields.length > 0) changes.push({ op: 'update', kind, id: normal.id, record: item, fields });
      }
    }
    if (prune) for (const id of [...have.keys()].sort()) if (!listed.has(id)) deletes.unshift({ op: 'delete', kind, id });
  };
  records('source', desired.sources, parseSourceConfig);
  records('endpoint', desired.endpoints, parseEndpointConfig);
  if (desired.schemas !== undefined) {
    const listed = new Set<string>();
    for (const s of desired.schemas) {
      const id = `${s.source}/${s.eventType}`;
      listed.add(id);
      const existing = current.schemas.get(id);
      if (existing === undefined) changes.push({ op: 'create', kind: 'schema', id, schema: s, fields: [] });
      else {
        const fields = [
          ...(stableJson(existing.schema) === stableJson(s.schema) ? [] : ['schema']),
          ...(existing.description === s.description ? [] : ['description']),
        ];
        if (fields.length > 0) changes.push({ op: 'update', kind: 'schema', id, schema: s, fields });
      }
    }
    if (prune) {
      for (const id of [...current.schemas.keys()].sort()) {
        if (listed.has(id)) continue;
        const slash = id.indexOf('/');
        deletes.unshift({ op: 'delete', kind: 'schema', id, source: id.slice(0, slash), eventType: id.slice(slash + 1) });
      }
    }
  }
  return [...changes, ...deletes];
}

/** One line of the diff `hs apply` prints: `+ create source x`, `~ update endpoint y (url)`, `- delete schema s/t`. Pure. */
export function describeChange(c: Change): string {
  const mark = c.op === 'create' ? '+' : c.op === 'update' ? '~' : '-';
  const fields = c.op === 'update' ? ` (${c.fields.join(', ')})` : '';
  return `${mark} ${c.op} ${c.kind} ${c.id}${fields}`;
}

async function pages<T>(fetchPage: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = '';
  do {
    const page = await fetchPage(token);
    all.push(...page.items);
    token = page.next;
  } while (token !== '');
  return all;
}

/** Reads every source, endpoint and schema from the control plane. Rejects with the call's ServiceError. */
export async function readCurrent(api: ControlApi): Promise<Current> {
  const sources = await pages(async (t) => {
    const p = await api.listSources({ pageToken: t, pageSize: 500 });
    return { items: p.sources, next: p.nextPageToken };
  });
  const endpoints = await pages(async (t) => {
    const p = await api.listEndpoints({ pageToken: t, pageSize: 500 });
    return { items: p.endpoints, next: p.nextPageToken };
  });
  const schemas = await pages(async (t) => {
    const p = await api.listSchemas({ pageToken: t, pageSize: 500 });
    return { items: p.schemas, next: p.nextPageToken };
  });
  return {
    sources: new Map(sources.map((s) => [s.id, JSON.parse(s.configJson) as Record<string, unknown>])),
    endpoints: new Map(endpoints.map((e) => [e.id, JSON.parse(e.configJson) as Record<string, unknown>])),
    schemas: new Map(
      schemas.map((s) => [`${s.source}/${s.eventType}`, { schema: JSON.parse(s.schemaJson) as unknown, description: s.description }]),
    ),
  };
}

/** Makes one change through the API (updates unconditionally: the plan was read moments ago). Rejects with the call's ServiceError. */
export async function applyChange(api: ControlApi, c: Change): Promise<void> {
  if (c.kind === 'schema') {
    if (c.op === 'delete') await api.deleteSchema({ source: c.source, eventType: c.eventType });
    else {
      const req = {
        source: c.schema.source,
        eventType: c.schema.eventType,
        schemaJson: JSON.stringify(c.schema.schema),
        description: c.schema.description,
      };
      await (c.op === 'create' ? api.createSchema(req) : api.updateSchema(req));
    }
    return;
  }
  if (c.op === 'delete') {
    await (c.kind === 'source' ? api.deleteSource({ id: c.id }) : api.deleteEndpoint({ id: c.id }));
    return;
  }
  const configJson = JSON.stringify(c.record);
  if (c.kind === 'source') await (c.op === 'create' ? api.createSource({ configJson }) : api.updateSource({ configJson }));
  else await (c.op === 'create' ? api.createEndpoint({ configJson }) : api.updateEndpoint({ configJson }));
}
