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
  | 'setEndpointEnabled';

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
  };
}
