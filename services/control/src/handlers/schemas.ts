import type { SchemaRecord } from '@hookstream/models';
import type { Schema } from '@hookstream/proto';
import { invalid } from '../errors.ts';
import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { pageSize, revisionOf, type Stored } from '../records.ts';
import { recordId, requireId } from './request.ts';

/** The schema RPCs. */
type SchemaRpc = 'createSchema' | 'getSchema' | 'listSchemas' | 'updateSchema' | 'deleteSchema';

function schemaOut(s: Stored<SchemaRecord>): Schema {
  return {
    source: s.record.source,
    eventType: s.record.eventType,
    version: s.record.version,
    schemaJson: JSON.stringify(s.record.schema),
    description: s.record.description ?? '',
    revision: s.revision,
    updatedAtMs: s.updatedAtMs,
  };
}

/** (source, event type) of a schema request. Throws INVALID_ARGUMENT naming the bad one. Pure. */
function schemaId(source: string, eventType: string): [string, string] {
  recordId(source, 'source');
  if (requireId(eventType, 'event_type').length > 256) throw invalid('event_type', 'must be at most 256 characters');
  return [source, eventType];
}

/** The schema RPCs over the schemas bucket (keyed by source and event type). */
export function schemaHandlers(deps: ResolvedDeps): Pick<Handlers, SchemaRpc> {
  return {
    createSchema: async (req) =>
      schemaOut(
        await deps.schemas.create({
          source: req.source,
          eventType: req.eventType,
          schemaJson: req.schemaJson,
          description: req.description,
        }),
      ),
    getSchema: async (req) => schemaOut(await deps.schemas.require(...schemaId(req.source, req.eventType))),
    listSchemas: async (req) => {
      if (req.source !== '') recordId(req.source, 'source');
      const page = await deps.schemas.list(req.source, pageSize(req.pageSize, 100), req.pageToken);
      return { schemas: page.items.map(schemaOut), nextPageToken: page.next };
    },
    updateSchema: async (req) => {
      schemaId(req.source, req.eventType);
      return schemaOut(
        await deps.schemas.update(
          { source: req.source, eventType: req.eventType, schemaJson: req.schemaJson, description: req.description },
          revisionOf(req.revision),
        ),
      );
    },
    deleteSchema: async (req) => {
      await deps.schemas.delete(...schemaId(req.source, req.eventType), revisionOf(req.revision));
      return {};
    },
  };
}
