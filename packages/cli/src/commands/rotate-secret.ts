import { arg, type Command, withConfig } from './command.ts';

/** `hs sources|endpoints rotate-secret <id> [--secret value] [--secret-id id]`: prints the new secret once. */
export const rotateSecret: Command = async ({ api, resource, pos, v }) => {
  const id = arg(pos, 2, `${resource === 'sources' ? 'source' : 'endpoint'} id`);
  const req = { id, newSecret: v.secret ?? '', newSecretId: v['secret-id'] ?? '' };
  const r = await (resource === 'sources' ? api.rotateSourceSecret(req) : api.rotateEndpointSecret(req));
  return {
    json: withConfig(r),
    text: `rotated ${id}: new secret ${r.secretId} (revision ${r.revision}); the others stay valid for the grace period\nsecret: ${r.secretValue}\n`,
  };
};
