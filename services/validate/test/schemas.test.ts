import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchemaRecord } from '@hookstream/models';
import { compileSchema, dialectOf, SchemaCache, strictVariant } from '@hookstream/schema-compiler';
import { bracketDepth, mediaType, parseBody } from '../src/parse.ts';

describe('validate schemas and parsing', () => {
  it('validate: the strict variant closes every object schema that declares properties and leaves the rest alone', () => {
    const schema = {
      type: 'object',
      properties: {
        a: { type: 'object', properties: { b: { type: 'string' } } },
        open: { type: 'object', properties: { c: {} }, additionalProperties: true },
        free: { type: 'object' },
        list: { type: 'array', items: { properties: { d: {} } } },
        properties: { const: { properties: { kept: 1 } } },
      },
      $defs: { x: { properties: { e: {} } } },
      anyOf: [{ properties: { f: {} } }],
      default: { properties: { g: 1 } },
    };
    const before = structuredClone(schema);
    const strict = strictVariant(schema) as Record<string, unknown>;
    assert.deepEqual(schema, before, 'input untouched');
    assert.deepEqual(strict, {
      ...before,
      additionalProperties: false,
      properties: {
        a: { type: 'object', properties: { b: { type: 'string' } }, additionalProperties: false },
        open: { type: 'object', properties: { c: {} }, additionalProperties: true },
        free: { type: 'object' },
        list: { type: 'array', items: { properties: { d: {} }, additionalProperties: false } },
        properties: { const: { properties: { kept: 1 } } },
      },
      $defs: { x: { properties: { e: {} }, additionalProperties: false } },
      anyOf: [{ properties: { f: {} }, additionalProperties: false }],
    });
  });

  it('validate: the dialect follows $schema, 2020-12 when absent', () => {
    assert.equal(dialectOf({ type: 'object' }), '2020-12');
    assert.equal(dialectOf(true), '2020-12');
    assert.equal(dialectOf({ $schema: 'https://json-schema.org/draft/2020-12/schema' }), '2020-12');
    assert.equal(dialectOf({ $schema: 'http://json-schema.org/draft-07/schema#' }), 'draft-07');
    assert.equal(dialectOf({ $schema: 'http://json-schema.org/draft-04/schema#' }), undefined);
    // 2020-12 keywords work under 2020-12 only.
    const tuple = { type: 'array', prefixItems: [{ type: 'string' }], items: false };
    const compiled = compileSchema(tuple, 'additive');
    assert.ok(compiled.ok);
    assert.deepEqual(compiled.check(['a']), []);
    assert.deepEqual(compiled.check(['a', 'b']), [{ path: '', keyword: 'items', message: 'must NOT have more than 1 items' }]);
  });

  it('validate: formats are annotations, so unknown formats compile and never fail', () => {
    const compiled = compileSchema({ type: 'string', format: 'made-up' }, 'strict');
    assert.ok(compiled.ok);
    assert.deepEqual(compiled.check('anything'), []);
  });

  it('validate: the cache compiles once per version and again when the record changes', () => {
    const cache = new SchemaCache();
    const v1 = parseSchemaRecord({ source: 's', eventType: 't', version: 1, schema: { type: 'object' } });
    const a = cache.compiled(v1, 'additive');
    assert.equal(cache.compiled(v1, 'additive'), a);
    const replay = parseSchemaRecord({ source: 's', eventType: 't', version: 1, schema: { type: 'object' } });
    assert.equal(cache.compiled(replay, 'additive'), a, 'a watch replay of the same version keeps the compiled code');
    const v2 = parseSchemaRecord({ source: 's', eventType: 't', version: 2, schema: { type: 'array' } });
    const b = cache.compiled(v2, 'additive');
    assert.notEqual(b, a);
    assert.ok(b.ok);
    assert.equal(b.check({}).length, 1);
    assert.equal(cache.size, 1);
  });

  it('validate: bracket depth ignores strings and escapes and stops past the limit', () => {
    assert.equal(bracketDepth(new TextEncoder().encode('{"a":[1,{"b":"[[[\\"{{"}]}')), 3);
    assert.equal(bracketDepth(new TextEncoder().encode('['.repeat(1_000_000)), 128), 129);
    assert.equal(bracketDepth(new Uint8Array()), 0);
  });

  it('validate: media types are compared without parameters or case', () => {
    assert.equal(mediaType('Application/X-WWW-Form-Urlencoded ; charset=UTF-8'), 'application/x-www-form-urlencoded');
    assert.equal(mediaType(undefined), '');
    const form = parseBody(new TextEncoder().encode('a=1&a=2&a=3&b=%E2%98%95&payload=plain'), 'application/x-www-form-urlencoded', 128);
    assert.deepEqual(form, { ok: true, value: { a: ['1', '2', '3'], b: '☕', payload: 'plain' } });
    assert.deepEqual(parseBody(new TextEncoder().encode('\ufeff{"a":1}'), 'application/json', 128), { ok: true, value: { a: 1 } });
  });
});
