import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ConfigError } from '@hookstream/runtime';
import { checkConfigLimit } from '../src/app.ts';
import type { RpcError } from '../src/errors.ts';
import { jsonDepth, parseJsonField } from '../src/records.ts';

describe('control: records', () => {
  it('control: config JSON over the size or depth limit is INVALID_ARGUMENT naming the field and the limit, checked before parsing', () => {
    const limits = { maxBytes: 100, maxDepth: 3 };
    assert.deepEqual(parseJsonField('{"a":[1,{"b":2}]}', 'config_json', limits), { a: [1, { b: 2 }] });
    assert.equal(jsonDepth('{"a":"[[[[{{{{","b":"\\"[["}'), 1, 'brackets in strings do not count');
    assert.equal(jsonDepth('[[[[[[[[', 4), 5, 'stops counting past the limit');
    const refused = (text: string, message: RegExp) =>
      assert.throws(
        () => parseJsonField(text, 'config_json', limits),
        (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'config_json' && message.test(err.message),
      );
    refused(`"${'x'.repeat(200)}"`, /^config_json: is 202 bytes, over the limit of 100 bytes \(HS_CONTROL_MAX_CONFIG_BYTES\)/);
    refused('[[[[1]]]]', /deeper than the limit of 3 levels \(HS_CONTROL_MAX_CONFIG_DEPTH\)/);
    refused(' ', /is required/);
    checkConfigLimit(256 * 1024, 1024 * 1024);
    assert.throws(
      () => checkConfigLimit(600 * 1024, 1024 * 1024),
      (err: ConfigError) => /614400.*1048576/.test(err.message),
    );
  });
});
