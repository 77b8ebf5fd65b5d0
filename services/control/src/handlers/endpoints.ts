import { checkFilter } from '@hookstream/models';
import type * as pb from '@hookstream/proto';
import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { pageSize, revisionOf } from '../records.ts';
import { restoreRedacted } from '../secrets.ts';
import { configJson, idOf, newRecord, recordOut, rotateSecret, storedView } from './config-records.ts';
import { recordId } from './request.ts';

/** The endpoint RPCs. */
type EndpointRpc =
  | 'createEndpoint'
  | 'getEndpoint'
  | 'listEndpoints'
  | 'updateEndpoint'
  | 'deleteEndpoint'
  | 'rotateEndpointSecret'
  | 'setEndpointEnabled'
  | 'checkFilter';

/**
 * Checks a CEL filter with the endpoint writes' own {@link checkFilter} (so
 * what it accepts, CreateEndpoint and UpdateEndpoint accept, and route
 * compiles), turning the refusal into an answer with the parser's line and
 * column when its message carries `<input>:L:C:`. Pure; never throws.
 */
export function checkFilterAnswer(expression: string): pb.CheckFilterResponse {
  try {
    checkFilter(expression);
    return { ok: true, error: '', line: 0, column: 0 };
  } catch (err) {
    const error = (err as Error).message;
    const at = /<input>:(\d+):(\d+):/.exec(error);
    return { ok: false, error, line: Number(at?.[1] ?? 0), column: Number(at?.[2] ?? 0) };
  }
}

/** The endpoint RPCs over the endpoints bucket; secrets are shown only in the answers to CreateEndpoint and RotateEndpointSecret. */
export function endpointHandlers(deps: ResolvedDeps): Pick<Handlers, EndpointRpc> {
  return {
    createEndpoint: async (req) => recordOut(await deps.endpoints.create(newRecord(deps, req.configJson)), true),
    getEndpoint: async (req) => recordOut(await deps.endpoints.view(recordId(req.id))),
    listEndpoints: async (req) => {
      const page = await deps.endpoints.list(pageSize(req.pageSize, 100), req.pageToken);
      return { endpoints: page.items.map((e) => recordOut(e)), nextPageToken: page.next };
    },
    updateEndpoint: async (req) => {
      const input = configJson(deps, req.configJson);
      const revision = revisionOf(req.revision);
      const id = idOf(input);
      const current = id === undefined ? undefined : await deps.endpoints.read(id);
      return recordOut(await deps.endpoints.update(restoreRedacted(input, storedView(current)), revision));
    },
    deleteEndpoint: async (req) => {
      await deps.endpoints.delete(recordId(req.id), revisionOf(req.revision));
      return {};
    },
    rotateEndpointSecret: (req) => rotateSecret(deps, deps.endpoints, req),
    setEndpointEnabled: async (req) => {
      const current = await deps.endpoints.require(recordId(req.id));
      const revision = revisionOf(req.revision) === 0 ? current.revision : req.revision;
      const updated = await deps.endpoints.update({ ...current.record, enabled: req.enabled }, revision);
      // Only a change is announced: setting what is already set says nothing new.
      if (current.record.enabled !== req.enabled && deps.announce !== undefined) {
        const change = { endpoint_id: current.record.id, at: deps.now() };
        if (req.enabled) await deps.announce('endpoint.enabled', { ...change, reason: 'operator' });
        else await deps.announce('endpoint.disabled', { ...change, reason: 'operator' });
      }
      return recordOut(updated);
    },
    checkFilter: async (req) => checkFilterAnswer(req.expression),
  };
}
