import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Prefix of an encrypted secret value: `enc:v1:{key id}:{base64(iv | ciphertext | tag)}`. */
export const ENCRYPTED_PREFIX = 'enc:v1:';

/** Thrown when an encrypted value cannot be opened (unknown key id, tampered, truncated), or a master key is not valid. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/**
 * Encrypts secrets at rest with AES-256-GCM under master keys that have ids,
 * so the master key can rotate: new values are sealed with the current key,
 * values sealed with an older key still open while that key is configured.
 */
export class SecretBox {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #currentId: string;

  /** `keys`: key id → 32-byte key; `currentId` seals new values. Throws SecretBoxError on a bad key (runtime's `secretBoxFromEnv` reports it as a ConfigError). */
  constructor(keys: ReadonlyMap<string, Buffer>, currentId: string) {
    for (const [id, key] of keys) {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new SecretBoxError(`master key id ${JSON.stringify(id)}: letters, digits, _ and - only`);
      if (key.length !== 32) throw new SecretBoxError(`master key ${id}: must be 32 bytes (base64 of 32 random bytes)`);
    }
    if (!keys.has(currentId)) throw new SecretBoxError(`HS_MASTER_KEY_ID: no master key with id ${currentId}`);
    this.#keys = keys;
    this.#currentId = currentId;
  }

  /**
   * Seals a plaintext secret. A value that is already sealed is returned as
   * it is once it opens with these keys; one that does not open throws
   * {@link SecretBoxError} (so nothing that can never be opened is stored).
   */
  seal(plaintext: string): string {
    if (plaintext.startsWith(ENCRYPTED_PREFIX)) {
      this.open(plaintext);
      return plaintext;
    }
    const key = this.#keys.get(this.#currentId) as Buffer;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    // The key id is authenticated too, so a value cannot be moved between keys.
    cipher.setAAD(Buffer.from(this.#currentId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${ENCRYPTED_PREFIX}${this.#currentId}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')}`;
  }

  /** Opens a sealed value; a plaintext value is returned unchanged. Throws {@link SecretBoxError}. */
  open(value: string): string {
    if (!value.startsWith(ENCRYPTED_PREFIX)) return value;
    const rest = value.slice(ENCRYPTED_PREFIX.length);
    const colon = rest.indexOf(':');
    const keyId = rest.slice(0, colon);
    const key = this.#keys.get(keyId);
    if (colon <= 0 || key === undefined) throw new SecretBoxError(`no master key with id ${keyId || '(none)'}`);
    const raw = Buffer.from(rest.slice(colon + 1), 'base64');
    if (raw.length < 12 + 16) throw new SecretBoxError('sealed value is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new SecretBoxError('sealed value does not authenticate (wrong key or tampered)', { cause });
    }
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.#currentId;
  }
}

/** True when a value is in the sealed at-rest form (starts with {@link ENCRYPTED_PREFIX}). Pure. */
export function isSealed(value: string): boolean {
  return value.startsWith(ENCRYPTED_PREFIX);
}

/** What stands for a secret-bearing value in every answer but the one that set it. */
export const REDACTED = '***';

/**
 * Called for each secret-bearing string of a record with where it sits
 * (`secrets[0].value`, `headers.Authorization`, `url`); answers the string
 * that replaces it.
 */
export type SecretFieldMapper = (value: string, field: string) => string;

function percentDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * Applies `fn` to each query value of a URL (`?token=…&b`: `…` and `b`; a
 * segment without `=` is a value). A value is the URL's own (percent-encoded)
 * text, except a sealed one, which is given decoded; an answer in the sealed
 * form is percent-encoded back. The rest of the URL is kept byte for byte.
 */
function mapQueryValues(url: string, field: string, fn: SecretFieldMapper): string {
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (q < 0 || (hash >= 0 && hash < q)) return url;
  const end = hash < 0 ? url.length : hash;
  const query = url.slice(q + 1, end);
  if (query === '') return url;
  const mapped = query.split('&').map((segment) => {
    const eq = segment.indexOf('=');
    const value = eq < 0 ? segment : segment.slice(eq + 1);
    if (value === '') return segment;
    const decoded = percentDecoded(value);
    const out = fn(decoded !== undefined && isSealed(decoded) ? decoded : value, field);
    const text = isSealed(out) ? encodeURIComponent(out) : out;
    return eq < 0 ? text : `${segment.slice(0, eq)}=${text}`;
  });
  return `${url.slice(0, q + 1)}${mapped.join('&')}${url.slice(end)}`;
}

/**
 * A copy of a record with `fn` applied to every string that may carry a
 * credential: each `secrets[].value`, each value of a `headers` object, and
 * each query value of a `url` (see the query rules above: names, path and
 * host stay readable). The one definition of "secret-bearing" that sealing
 * at rest, opening and redaction in answers share. Fields of the wrong type
 * are left for the record's parser to refuse. Pure when `fn` is.
 */
export function mapSecretFields<T>(record: T, fn: SecretFieldMapper): T {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return record;
  const r = record as Record<string, unknown>;
  const out: Record<string, unknown> = { ...r };
  if (Array.isArray(r.secrets)) {
    out.secrets = r.secrets.map((s: unknown, i) =>
      typeof s === 'object' && s !== null && typeof (s as { value?: unknown }).value === 'string'
        ? Object.freeze({ ...s, value: fn((s as { value: string }).value, `secrets[${i}].value`) })
        : s,
    );
  }
  if (typeof r.headers === 'object' && r.headers !== null && !Array.isArray(r.headers)) {
    const headers: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(r.headers)) headers[name] = typeof value === 'string' ? fn(value, `headers.${name}`) : value;
    out.headers = Object.freeze(headers);
  }
  if (typeof r.url === 'string') out.url = mapQueryValues(r.url, 'url', fn);
  return out as T;
}

/** A copy of a record with every secret-bearing value (see {@link mapSecretFields}) replaced by {@link REDACTED}. Pure. */
export function redactSecrets<T>(record: T): T {
  return mapSecretFields(record, () => REDACTED);
}
