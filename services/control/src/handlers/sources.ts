import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { pageSize, revisionOf } from '../records.ts';
import { restoreRedacted } from '../secrets.ts';
import { configJson, idOf, newRecord, recordOut, rotateSecret, storedView } from './config-records.ts';
import { recordId } from './request.ts';

/** The source RPCs. */
type SourceRpc = 'createSource' | 'getSource' | 'listSources' | 'updateSource' | 'deleteSource' | 'rotateSourceSecret';

/** The source RPCs over the sources bucket; secrets are shown only in the answers to CreateSource and RotateSourceSecret. */
export function sourceHandlers(deps: ResolvedDeps): Pick<Handlers, SourceRpc> {
  return {
    createSource: async (req) => recordOut(await deps.sources.create(newRecord(deps, req.configJson)), true),
    getSource: async (req) => recordOut(await deps.sources.view(recordId(req.id))),
    listSources: async (req) => {
      const page = await deps.sources.list(pageSize(req.pageSize, 100), req.pageToken);
      return { sources: page.items.map((s) => recordOut(s)), nextPageToken: page.next };
    },
    updateSource: async (req) => {
      const input = configJson(deps, req.configJson);
      const revision = revisionOf(req.revision);
      const id = idOf(input);
      const current = id === undefined ? undefined : await deps.sources.read(id);
      return recordOut(await deps.sources.update(restoreRedacted(input, storedView(current)), revision));
    },
    deleteSource: async (req) => {
      await deps.sources.delete(recordId(req.id), revisionOf(req.revision));
      return {};
    },
    rotateSourceSecret: (req) => rotateSecret(deps, deps.sources, req),
  };
}
