import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS, NOW_S, timestampCases } from './helpers.ts';

const scheme: SchemeConfig = { kind: 'slack' };
const DOCS_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const OTHER = 'e3b0c44298fc1c149afbf4c8996fb924';

/** Slack's documented recipe: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`. */
function sign(secret: string, body: string, timestamp: number): Headers {
  const mac = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`, 'utf8').digest('hex');
  return { 'X-Slack-Signature': `v0=${mac}`, 'X-Slack-Request-Timestamp': String(timestamp) };
}

describe('slack', () => {
  it("signing: slack accepts the example from Slack's documentation", () => {
    // api.slack.com "Verifying requests from Slack". The documented signature is over
    // command=%2Fwebhook-collect&text= (not %2Fwebbot&text=test as sometimes quoted).
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar' +
      '&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const headers = {
      'X-Slack-Request-Timestamp': '1531420618',
      'X-Slack-Signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    };
    const secrets = [{ id: 'docs', value: DOCS_SECRET }];
    assertAccepted(verifySignature(scheme, input(body, headers, 1531420618_000 + 5_000), secrets), 'docs');
    assertRejected(verifySignature(scheme, input(body, headers, NOW_MS), secrets), 'stale_timestamp', DOCS_SECRET);
    const edited = body.replace('%2Fwebhook-collect&text=', '%2Fwebbot&text=test');
    assertRejected(verifySignature(scheme, input(edited, headers, 1531420618_000), secrets), 'bad_signature', DOCS_SECRET);
  });

  it('signing: slack rejects missing and malformed headers', () => {
    const secrets = [{ id: 'k', value: OTHER }];
    const good = sign(OTHER, 'a=1', NOW_S);
    const { 'X-Slack-Request-Timestamp': _ts, ...noTimestamp } = good;
    const result = verifySignature(scheme, input('a=1', noTimestamp, NOW_MS), secrets);
    assertRejected(result, 'missing_signature');
    assert.ok(!result.ok && result.detail.includes('X-Slack-Request-Timestamp'));
    assertRejected(
      verifySignature(scheme, input('a=1', { 'X-Slack-Request-Timestamp': String(NOW_S) }, NOW_MS), secrets),
      'missing_signature',
    );
    const mac = (good['X-Slack-Signature'] ?? '').slice(3);
    for (const sig of [mac, `v1=${mac}`, 'v0=', 'v0=nothex']) {
      assertRejected(verifySignature(scheme, input('a=1', { ...good, 'X-Slack-Signature': sig }, NOW_MS), secrets), 'malformed_signature');
    }
    for (const ts of ['soon', '1.7e9', '']) {
      const expected = ts === '' ? 'missing_signature' : 'malformed_signature';
      assertRejected(verifySignature(scheme, input('a=1', { ...good, 'X-Slack-Request-Timestamp': ts }, NOW_MS), secrets), expected);
    }
  });

  it('signing: slack honours a configured tolerance', () => {
    const headers = sign(OTHER, 'a=1', NOW_S - 100);
    const secrets = [{ id: 'k', value: OTHER }];
    assertRejected(verifySignature({ kind: 'slack', toleranceSeconds: 60 }, input('a=1', headers, NOW_MS), secrets), 'stale_timestamp');
    assertAccepted(verifySignature({ kind: 'slack', toleranceSeconds: 120 }, input('a=1', headers, NOW_MS), secrets), 'k');
  });

  commonCases('slack', scheme, sign, [DOCS_SECRET, OTHER]);
  timestampCases('slack', scheme, sign, OTHER, 300);
});
