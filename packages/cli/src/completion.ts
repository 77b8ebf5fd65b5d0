import type { CommandSpec } from './commands/command.ts';
import { GROUPS } from './groups.ts';
import { acceptedFlags, topNames } from './help.ts';

// Both scripts find the command path the same way: the words before the
// cursor that are not options and not the value of an option that takes one.

function valueFlags(commands: readonly CommandSpec[]): string[] {
  const names = new Set<string>();
  for (const spec of commands) {
    for (const f of acceptedFlags(spec)) {
      if (f.def.type !== 'string') continue;
      names.add(`--${f.name}`);
      if (f.def.short !== undefined) names.add(`-${f.def.short}`);
    }
  }
  return [...names].sort();
}

function optionWords(spec: CommandSpec): string[] {
  return acceptedFlags(spec).map((f) => `--${f.name}`);
}

/** `hs completion bash`: a bash script completing commands and each command's options from `commands`. Pure. */
export function bashCompletion(commands: readonly CommandSpec[]): string {
  const cases: string[] = [];
  for (const spec of commands) {
    const key = spec.path.join(' ');
    cases.push(`    "${key}"|"${key} "*) words="${optionWords(spec).join(' ')}" ;;`);
  }
  for (const group of Object.keys(GROUPS)) {
    const subs = commands.filter((c) => c.path.length === 2 && c.path[0] === group).map((c) => c.path[1]);
    cases.push(`    "${group}") words="${subs.join(' ')} --help" ;;`);
  }
  return `# bash completion for hs, generated from its command table (hs completion bash)
# use: source <(hs completion bash)
_hs_completion() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd="" w i skip=0 words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      ${valueFlags(commands).join('|')}) skip=1 ;;
      -*) ;;
      *) cmd="\${cmd:+$cmd }$w" ;;
    esac
  done
  case $prev in
    -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valueFlags(commands)
      .filter((f) => f !== '-f' && f !== '--file')
      .join('|')}) COMPREPLY=(); return ;;
  esac
  case $cmd in
    "") words="${topNames(commands).join(' ')} help --help --version" ;;
    "help"*) words="${topNames(commands).join(' ')}" ;;
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _hs_completion hs
`;
}

/** Text safe inside a zsh single-quoted `name:description` entry. */
function zshQuote(text: string): string {
  return text.replaceAll("'", "'\\''").replaceAll(':', '\\:');
}

/** `hs completion zsh`: a zsh script (for fpath, as `_hs`) completing commands with their summaries and each command's options. Pure. */
export function zshCompletion(commands: readonly CommandSpec[]): string {
  const tops = topNames(commands).map((name) => {
    const leaf = commands.find((c) => c.path.length === 1 && c.path[0] === name);
    return `'${name}:${zshQuote(leaf?.summary ?? GROUPS[name] ?? '')}'`;
  });
  const cases: string[] = [];
  for (const spec of commands) {
    const key = spec.path.join(' ');
    const opts = acceptedFlags(spec).map((f) => `'--${f.name}:${zshQuote(f.description)}'`);
    cases.push(`    "${key}"|"${key} "*) opts=(${opts.join(' ')}) ;;`);
  }
  for (const group of Object.keys(GROUPS)) {
    const subs = commands.filter((c) => c.path.length === 2 && c.path[0] === group).map((c) => `'${c.path[1]}:${zshQuote(c.summary)}'`);
    cases.push(`    "${group}") subs=(${subs.join(' ')}) ;;`);
  }
  return `#compdef hs
# zsh completion for hs, generated from its command table (hs completion zsh)
# use: hs completion zsh > "\${fpath[1]}/_hs", then restart zsh (or: source <(hs completion zsh))
_hs() {
  local -a hs_path subs opts tops
  local i w skip=0
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      ${valueFlags(commands).join('|')}) skip=1 ;;
      -*) ;;
      *) hs_path+=("$w") ;;
    esac
  done
  case \${words[CURRENT-1]} in
    -f|--file) _files; return ;;
    ${valueFlags(commands)
      .filter((f) => f !== '-f' && f !== '--file')
      .join('|')}) _message 'value'; return ;;
  esac
  tops=(${tops.join(' ')})
  case "\${(j: :)hs_path}" in
    ""|"help"*) _describe 'command' tops; return ;;
${cases.join('\n')}
  esac
  if (( \${#subs} )); then _describe 'command' subs; fi
  if (( \${#opts} )); then _describe 'option' opts; fi
}
# Autoloaded from fpath the file is the function's body: complete now; sourced: register.
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then _hs "$@"; else compdef _hs hs; fi
`;
}
