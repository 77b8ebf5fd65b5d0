import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const MAKEFILE = readFileSync(new URL('../../Makefile', import.meta.url), 'utf8');

describe('Makefile', () => {
  it('make: .PHONY lists every target, and only targets', () => {
    // A target missing from .PHONY stops running once a file or folder of its name exists (`test/` and `bench/` do).
    const targets = [...MAKEFILE.matchAll(/^([a-z0-9-]+):/gm)].map((m) => m[1]).sort();
    const phony = (/^\.PHONY:(.*)$/m.exec(MAKEFILE)?.[1] ?? '')
      .split(/\s+/)
      .filter((t) => t !== '')
      .sort();
    assert.ok(targets.length > 0, 'targets found');
    assert.deepEqual(phony, targets);
  });
});
