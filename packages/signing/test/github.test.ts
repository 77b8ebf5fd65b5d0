import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS } from './helpers.ts';

const scheme: SchemeConfig = { kind: 'github' };
const OLD = 'old github secret';
const NEW = "It's a Secret to Everybody";

/** Signs with `@octokit/webhooks-methods`, which GitHub's own Octokit uses. */
async function sign(secret: string, payload: string): Promise<Headers> {
  return { 'X-Hub-Signature-256': await octokitSign(secret, payload) };
}

describe('github', () => {
  it("signing: github accepts a signature made by octokit's webhooks-methods", async () => {
    const body = '{"action":"opened","number":1}';
    const headers = await sign(NEW, body);
    assert.match(headers['X-Hub-Signature-256'] ?? '', /^sha256=[0-9a-f]{64}$/);
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
  });

  it("signing: github accepts the example from GitHub's documentation", () => {
    // docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
    const headers = { 'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };
    assertAccepted(verifySignature(scheme, input('Hello, World!', headers, NOW_MS), [{ id: 'docs', value: NEW }]), 'docs');
    assertRejected(verifySignature(scheme, input('Hello, World?', headers, NOW_MS), [{ id: 'docs', value: NEW }]), 'bad_signature');
  });

  it('signing: github rejects missing and malformed headers', async () => {
    const secrets = [{ id: 'k', value: NEW }];
    const good = (await sign(NEW, 'x'))['X-Hub-Signature-256'] ?? '';
    // The legacy SHA-1 header alone is not enough.
    assertRejected(verifySignature(scheme, input('x', { 'X-Hub-Signature': 'sha1=abcd' }, NOW_MS), secrets), 'missing_signature');
    for (const header of [good.slice('sha256='.length), `sha1=${good.slice(7)}`, 'sha256=', 'sha256=zz', `SHA256=${good.slice(7)}`]) {
      assertRejected(verifySignature(scheme, input('x', { 'X-Hub-Signature-256': header }, NOW_MS), secrets), 'malformed_signature');
    }
  });

  commonCases('github', scheme, (secret, body) => sign(secret, body), [OLD, NEW]);
});
