import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeSecrets, isSecretActive, parseSecrets, type SecretRules, ValidationError } from '@hookstream/contracts';

const NOW = 1_700_000_000_000;
const ANY: SecretRules = { value: () => true, valueMessage: 'must be a non-empty string' };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return `${err.field}: ${err.message}`;
  }
  assert.fail('expected a ValidationError');
}

describe('secrets', () => {
  it('secrets: valid from notBeforeMs (inclusive) while now < notAfterMs (exclusive), for verifying and signing alike', () => {
    // Scenario: the boundary the signing and deliver copies disagreed on: at exactly notAfterMs the secret is over.
    assert.equal(isSecretActive({ notAfterMs: NOW }, NOW), false);
    assert.equal(isSecretActive({ notAfterMs: NOW }, NOW - 1), true);
    assert.equal(isSecretActive({ notBeforeMs: NOW }, NOW), true);
    assert.equal(isSecretActive({ notBeforeMs: NOW }, NOW - 1), false);
    assert.equal(isSecretActive({}, NOW), true);
    const secrets = [
      { id: 'a', value: 'old', notAfterMs: NOW },
      { id: 'b', value: 'new', notBeforeMs: NOW - 10 },
    ];
    assert.deepEqual(
      activeSecrets(secrets, NOW).map((s) => s.id),
      ['b'],
    );
    assert.deepEqual(
      activeSecrets(secrets, NOW - 1).map((s) => s.id),
      ['a', 'b'],
    );
  });

  it('secrets: one parser keeps id, value and the bounds, frozen', () => {
    const [s] = parseSecrets([{ id: 'k', value: 'v', notBeforeMs: 1, notAfterMs: 2, extra: true }], ANY);
    assert.deepEqual(s, { id: 'k', value: 'v', notBeforeMs: 1, notAfterMs: 2 });
    assert.ok(Object.isFrozen(s));
    assert.deepEqual(parseSecrets([], ANY), []);
  });

  it('secrets: duplicate ids, non-finite bounds and bad shapes are refused, naming the field', () => {
    assert.equal(
      fieldOf(() =>
        parseSecrets(
          [
            { id: 'k', value: 'a' },
            { id: 'k', value: 'b' },
          ],
          ANY,
        ),
      ),
      'secrets[1].id: secrets[1].id: duplicate secret id k',
    );
    for (const bound of [Number.NaN, Number.POSITIVE_INFINITY, '1']) {
      assert.match(
        fieldOf(() => parseSecrets([{ id: 'k', value: 'v', notAfterMs: bound }], ANY)),
        /^secrets\[0\]\.notAfterMs: .*epoch milliseconds/,
      );
      assert.match(
        fieldOf(() => parseSecrets([{ id: 'k', value: 'v', notBeforeMs: bound }], ANY)),
        /^secrets\[0\]\.notBeforeMs: /,
      );
    }
    assert.match(
      fieldOf(() => parseSecrets('nope', ANY)),
      /^secrets: .*must be a list/,
    );
    assert.match(
      fieldOf(() => parseSecrets([null], ANY)),
      /^secrets\[0\]: .*must be an object/,
    );
    assert.match(
      fieldOf(() => parseSecrets([['k']], ANY)),
      /^secrets\[0\]: .*must be an object/,
    );
    assert.match(
      fieldOf(() => parseSecrets([{ id: '', value: 'v' }], ANY)),
      /^secrets\[0\]\.id: /,
    );
    assert.match(
      fieldOf(() => parseSecrets([{ id: 'k', value: '' }], ANY)),
      /^secrets\[0\]\.value: .*non-empty/,
    );
  });

  it('secrets: a record kind adds its own value rule and may require one secret', () => {
    const whsec: SecretRules = {
      value: (v) => v.startsWith('whsec_'),
      valueMessage: 'must be a whsec_ secret (base64)',
      atLeastOne: 'must list at least one whsec_ secret',
    };
    assert.match(
      fieldOf(() => parseSecrets([], whsec)),
      /^secrets: .*at least one/,
    );
    assert.match(
      fieldOf(() => parseSecrets(undefined, whsec)),
      /^secrets: .*at least one/,
    );
    assert.match(
      fieldOf(() => parseSecrets([{ id: 'k', value: 'plain' }], whsec)),
      /^secrets\[0\]\.value: .*whsec_/,
    );
    assert.equal(parseSecrets([{ id: 'k', value: 'whsec_AA==' }], whsec).length, 1);
  });
});
