import { ApplyFileError, applyChange, describeChange, parseDesired, plan, readCurrent } from '../apply.ts';
import { type CommandSpec, UsageError } from './command.ts';

/** `hs apply -f hookstream.yaml [--prune] [--dry-run]`: prints the plan, then applies it. */
export const apply: CommandSpec = {
  path: ['apply'],
  summary: 'make the control plane hold what a YAML file says (prints the changes, then applies them)',
  flags: [{ name: 'file', required: true, description: 'the YAML file (examples/hookstream.yaml); - reads stdin' }, 'prune', 'dry-run'],
  examples: ['hs apply -f hookstream.yaml --dry-run', 'hs apply -f hookstream.yaml --prune'],
  run: async ({ api, v, io, readFile }) => {
    if (v.file === undefined) throw new UsageError('-f <hookstream.yaml> is required');
    let desired: ReturnType<typeof parseDesired>;
    try {
      desired = parseDesired(readFile());
    } catch (err) {
      if (err instanceof ApplyFileError) throw new UsageError(`${v.file}: ${err.message}`);
      throw err;
    }
    const changes = plan(desired, await readCurrent(api), v.prune === true);
    const lines = changes.map((c) => `${describeChange(c)}\n`);
    const write = (text: string) => {
      if (v.json !== true) io.stdout.write(text);
    };
    if (changes.length === 0) return { json: { changes: [], applied: 0 }, text: 'no changes\n' };
    write(lines.join(''));
    if (v['dry-run'] === true) return { json: { changes: lines.map((l) => l.trim()), applied: 0 }, text: 'dry run: nothing applied\n' };
    let applied = 0;
    for (const change of changes) {
      await applyChange(api, change);
      applied++;
    }
    return { json: { changes: lines.map((l) => l.trim()), applied }, text: `applied ${applied} change${applied === 1 ? '' : 's'}\n` };
  },
};
