import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COMMANDS } from '../src/command-table.ts';
import { synopsis, withCommandsSection } from '../src/help.ts';

const DOC = new URL('../../../docs/control-plane.md', import.meta.url);

describe('hs: docs/control-plane.md', () => {
  it('hs docs: the command list in docs/control-plane.md is the one the command table generates', () => {
    const doc = readFileSync(DOC, 'utf8');
    assert.equal(doc, withCommandsSection(doc, COMMANDS), 'run `node packages/cli/src/gen-docs.ts` after changing the command table');
  });

  it('hs docs: every command is listed with its synopsis and an example', () => {
    const doc = readFileSync(DOC, 'utf8');
    for (const spec of COMMANDS) {
      const cell = `| \`${synopsis(spec).replaceAll('|', '\\|')}\` `;
      const row = doc.split('\n').find((l) => l.startsWith(cell));
      assert.ok(row !== undefined, spec.path.join(' '));
      assert.ok(row.includes(` | ${spec.summary}`), `${spec.path.join(' ')}: summary`);
      assert.match(row, /\| `[^`]+` *\|$/, `${spec.path.join(' ')} has an example`);
    }
  });
});
