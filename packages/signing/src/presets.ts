import { SchemeConfigError } from './errors.ts';
import { HEADER_NAME } from './scheme-config.ts';
import type { SchemeConfig } from './types.ts';

/**
 * Where a value lives in a delivery: a header (looked up case-insensitively)
 * or a field of the JSON body, `$.a.b` (dot segments only, no indexes).
 */
export type Locator = { readonly from: 'header'; readonly name: string } | { readonly from: 'json'; readonly path: string };

/** Providers with a built-in preset. */
export type ProviderName = 'stripe' | 'github' | 'shopify' | 'standard-webhooks' | 'razorpay' | 'slack';

/** A provider's signature scheme and where its event type and idempotency key are found. */
export interface ProviderPreset {
  readonly scheme: SchemeConfig;
  readonly eventType: Locator;
  readonly idempotencyKey: Locator;
}

const header = (name: string): Locator => Object.freeze({ from: 'header', name });
const json = (path: string): Locator => Object.freeze({ from: 'json', path });
const preset = (kind: ProviderName, eventType: Locator, idempotencyKey: Locator): ProviderPreset =>
  Object.freeze({ scheme: Object.freeze({ kind }), eventType, idempotencyKey });

/**
 * The built-in provider presets (deeply frozen). The idempotency key is the
 * provider's own event or delivery id, which stays the same when the
 * provider retries. Slack slash commands and interactivity payloads are
 * form-encoded, so their JSON locators find nothing; only Events API
 * deliveries carry `event_id`.
 */
export const PROVIDER_PRESETS: Readonly<Record<ProviderName, ProviderPreset>> = Object.freeze({
  stripe: preset('stripe', json('$.type'), json('$.id')),
  github: preset('github', header('X-GitHub-Event'), header('X-GitHub-Delivery')),
  shopify: preset('shopify', header('X-Shopify-Topic'), header('X-Shopify-Webhook-Id')),
  'standard-webhooks': preset('standard-webhooks', json('$.type'), header('webhook-id')),
  razorpay: preset('razorpay', json('$.event'), header('X-Razorpay-Event-Id')),
  slack: preset('slack', json('$.event.type'), json('$.event_id')),
});

const JSON_PATH = /^\$(?:\.[^.\s[\]]+)+$/;

/**
 * Reads the value a locator points at: a header through `header`, a JSON
 * field through `json` (the already-parsed body, or undefined when the body
 * is not JSON). Returns the string, a finite number converted to a string,
 * or undefined when the value is absent, empty, or not a string or number.
 * Only own properties of plain objects are walked. Pure; never throws.
 */
export function locate(locator: Locator, header: (name: string) => string | undefined, json: unknown): string | undefined {
  if (locator.from === 'header') {
    const value = header(locator.name);
    return value === undefined || value === '' ? undefined : value;
  }
  let current: unknown = json;
  for (const segment of locator.path.split('.').slice(1)) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  if (typeof current === 'string') return current === '' ? undefined : current;
  if (typeof current === 'number' && Number.isFinite(current)) return String(current);
  return undefined;
}

/**
 * Checks an untrusted locator record and returns a frozen {@link Locator}:
 * `{ from: 'header', name }` with an HTTP header name, or
 * `{ from: 'json', path }` with a path like `$.event.type`. Throws
 * {@link SchemeConfigError} naming the bad field (`locator`, `from`, `name`,
 * `path`, or an unknown field). Pure.
 */
export function parseLocator(input: unknown): Locator {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SchemeConfigError('locator', 'must be an object');
  }
  const raw = input as Record<string, unknown>;
  const field = raw.from === 'header' ? 'name' : raw.from === 'json' ? 'path' : undefined;
  if (field === undefined) throw new SchemeConfigError('from', "must be 'header' or 'json'");
  for (const key of Object.keys(raw)) {
    if (key !== 'from' && key !== field) throw new SchemeConfigError(key, `is not a field of a ${raw.from} locator`);
  }
  if (raw.from === 'header') {
    if (typeof raw.name !== 'string' || !HEADER_NAME.test(raw.name)) throw new SchemeConfigError('name', 'must be an HTTP header name');
    return header(raw.name);
  }
  if (typeof raw.path !== 'string' || !JSON_PATH.test(raw.path)) {
    throw new SchemeConfigError('path', 'must be a path of dot segments such as $.event.type');
  }
  return json(raw.path);
}
