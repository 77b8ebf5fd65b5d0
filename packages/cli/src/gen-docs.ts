#!/usr/bin/env node
// Rewrites the command list of docs/control-plane.md from the command table
// (`node packages/cli/src/gen-docs.ts`); packages/cli/test/docs.test.ts fails until it is run after a change to the table.
import { readFileSync, writeFileSync } from 'node:fs';
import { COMMANDS } from './command-table.ts';
import { withCommandsSection } from './help.ts';

const doc = new URL('../../../docs/control-plane.md', import.meta.url);
writeFileSync(doc, withCommandsSection(readFileSync(doc, 'utf8'), COMMANDS));
