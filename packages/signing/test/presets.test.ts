import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { locate, PROVIDER_PRESETS, parseLocator, parseSchemeConfig, SchemeConfigError } from '@hookstream/signing';
import { lookup } from './helpers.ts';

describe('presets', () => {
  it('signing: provider presets locate event type and idempotency key where each provider puts them', () => {
    assert.deepEqual(PROVIDER_PRESETS.stripe, {
      scheme: { kind: 'stripe' },
      eventType: { from: 'json', path: '$.type' },
      idempotencyKey: { from: 'json', path: '$.id' },
    });
    assert.deepEqual(PROVIDER_PRESETS.github.eventType, { from: 'header', name: 'X-GitHub-Event' });
    assert.deepEqual(PROVIDER_PRESETS.github.idempotencyKey, { from: 'header', name: 'X-GitHub-Delivery' });
    assert.deepEqual(PROVIDER_PRESETS.shopify.eventType, { from: 'header', name: 'X-Shopify-Topic' });
    assert.deepEqual(PROVIDER_PRESETS.shopify.idempotencyKey, { from: 'header', name: 'X-Shopify-Webhook-Id' });
    assert.deepEqual(PROVIDER_PRESETS['standard-webhooks'].eventType, { from: 'json', path: '$.type' });
    assert.deepEqual(PROVIDER_PRESETS['standard-webhooks'].idempotencyKey, { from: 'header', name: 'webhook-id' });
    assert.deepEqual(PROVIDER_PRESETS.razorpay.eventType, { from: 'json', path: '$.event' });
    assert.deepEqual(PROVIDER_PRESETS.razorpay.idempotencyKey, { from: 'header', name: 'X-Razorpay-Event-Id' });
    assert.deepEqual(PROVIDER_PRESETS.slack.eventType, { from: 'json', path: '$.event.type' });
    assert.deepEqual(PROVIDER_PRESETS.slack.idempotencyKey, { from: 'json', path: '$.event_id' });
  });

  it('signing: provider presets are frozen and made of valid configs', () => {
    assert.ok(Object.isFrozen(PROVIDER_PRESETS));
    for (const [name, preset] of Object.entries(PROVIDER_PRESETS)) {
      assert.ok(Object.isFrozen(preset) && Object.isFrozen(preset.scheme) && Object.isFrozen(preset.eventType), name);
      assert.equal(preset.scheme.kind, name);
      assert.deepEqual(parseSchemeConfig(preset.scheme), preset.scheme);
      assert.deepEqual(parseLocator(preset.eventType), preset.eventType);
      assert.deepEqual(parseLocator(preset.idempotencyKey), preset.idempotencyKey);
    }
  });

  it('signing: locate reads headers case-insensitively and JSON by dot path', () => {
    const header = lookup({ 'x-github-event': 'push', 'X-Empty': '' });
    assert.equal(locate(PROVIDER_PRESETS.github.eventType, header, undefined), 'push');
    assert.equal(locate({ from: 'header', name: 'X-Missing' }, header, undefined), undefined);
    assert.equal(locate({ from: 'header', name: 'X-Empty' }, header, undefined), undefined);

    const slack = {
      event_id: 'Ev123',
      event: { type: 'app_mention', n: 42, f: 1.5, z: 0, nested: { ok: true }, list: [1], empty: '', nil: null },
    };
    const none = () => undefined;
    assert.equal(locate(PROVIDER_PRESETS.slack.eventType, none, slack), 'app_mention');
    assert.equal(locate(PROVIDER_PRESETS.slack.idempotencyKey, none, slack), 'Ev123');
    assert.equal(locate({ from: 'json', path: '$.event.n' }, none, slack), '42');
    assert.equal(locate({ from: 'json', path: '$.event.f' }, none, slack), '1.5');
    assert.equal(locate({ from: 'json', path: '$.event.z' }, none, slack), '0');
    for (const path of [
      '$.event.nested',
      '$.event.nested.ok',
      '$.event.list',
      '$.event.list.0',
      '$.event.empty',
      '$.event.nil',
      '$.nope.x',
    ]) {
      assert.equal(locate({ from: 'json', path }, none, slack), undefined, path);
    }
    for (const json of [undefined, null, 'text', 7, [slack]]) {
      assert.equal(locate(PROVIDER_PRESETS.slack.eventType, none, json), undefined);
    }
    // Only own properties: nothing is read off Object.prototype.
    assert.equal(locate({ from: 'json', path: '$.constructor.name' }, none, {}), undefined);
    assert.equal(locate({ from: 'json', path: '$.__proto__' }, none, JSON.parse('{"__proto__":"x"}')), 'x');
  });

  it('signing: parseLocator validates and names the bad field', () => {
    assert.deepEqual(parseLocator({ from: 'header', name: 'X-Id' }), { from: 'header', name: 'X-Id' });
    assert.deepEqual(parseLocator({ from: 'json', path: '$.data.object.id' }), { from: 'json', path: '$.data.object.id' });
    const cases: [unknown, string][] = [
      [null, 'locator'],
      ['$.id', 'locator'],
      [{}, 'from'],
      [{ from: 'query', name: 'x' }, 'from'],
      [{ from: 'header' }, 'name'],
      [{ from: 'header', name: 'bad name' }, 'name'],
      [{ from: 'header', name: 'X', path: '$.a' }, 'path'],
      [{ from: 'json', path: 'id' }, 'path'],
      [{ from: 'json', path: '$' }, 'path'],
      [{ from: 'json', path: '$.a..b' }, 'path'],
      [{ from: 'json', path: '$.a[0]' }, 'path'],
      [{ from: 'json', path: '$.a.' }, 'path'],
      [{ from: 'json', path: 3 }, 'path'],
      [{ from: 'json', path: '$.a', name: 'X' }, 'name'],
    ];
    for (const [input, field] of cases) {
      assert.throws(
        () => parseLocator(input),
        (err: unknown) => err instanceof SchemeConfigError && err.field === field,
        JSON.stringify(input),
      );
    }
  });
});
