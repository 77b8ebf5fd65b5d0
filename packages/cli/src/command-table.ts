import { apply } from './commands/apply.ts';
import type { CommandSpec } from './commands/command.ts';
import { dlq } from './commands/dlq.ts';
import { drift } from './commands/drift.ts';
import { endpoints } from './commands/endpoints.ts';
import { events } from './commands/events.ts';
import { replay } from './commands/replay.ts';
import { schemas } from './commands/schemas.ts';
import { sources } from './commands/sources.ts';
import { health, stats } from './commands/stats.ts';
import { tail } from './commands/tail.ts';
import { bashCompletion, zshCompletion } from './completion.ts';

const completion: readonly CommandSpec[] = [
  {
    path: ['completion', 'bash'],
    summary: 'print a bash completion script for hs',
    json: false,
    remote: false,
    examples: ['source <(hs completion bash)'],
    run: async () => ({ json: null, text: bashCompletion(COMMANDS) }),
  },
  {
    path: ['completion', 'zsh'],
    summary: 'print a zsh completion script for hs',
    json: false,
    remote: false,
    examples: ['hs completion zsh > ~/.zfunc/_hs'],
    run: async () => ({ json: null, text: zshCompletion(COMMANDS) }),
  },
];

/**
 * Every command of `hs`, one definition each: runCli parses and checks a
 * command line against it, and help, completion and the command list in
 * docs/control-plane.md are generated from it.
 */
export const COMMANDS: readonly CommandSpec[] = Object.freeze([
  ...sources,
  ...endpoints,
  ...schemas,
  ...dlq,
  ...events,
  replay,
  stats,
  health,
  drift,
  tail,
  apply,
  ...completion,
]);
