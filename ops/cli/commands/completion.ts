import type { Command, CommandDef } from '../args';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { runnableNames } from '../../../pipelines/registry';
import { TOPICS } from '../../../topics/catalog';

/** Words a flag's value completes to: topics for topic flags, stage names for --stages. */
function valueWords(flag: string): string[] | undefined {
  if (flag === 'topic') return TOPICS.map((t) => t.name);
  if (flag === 'stages') return runnableNames();
  return undefined;
}

/**
 * A bash completion script for `commands` (works in zsh through bashcompinit): command names,
 * sub-commands, each command's flags, a flag's choices, catalog topics for `tap TOPIC` and
 * `--topic`, stage names for `--stages`.
 */
export function bashCompletion(commands: Readonly<Record<string, Command>>): string {
  const cases: string[] = [];
  const flagCase = (key: string, def: CommandDef): void => {
    const flags = Object.keys(def.spec.flags).map((f) => `--${f}`);
    const values: string[] = [];
    for (const [flag, spec] of Object.entries(def.spec.flags)) {
      const words = spec.choices ? [...spec.choices] : valueWords(flag);
      if (words) values.push(`      --${flag}) COMPREPLY=( $(compgen -W "${words.join(' ')}" -- "$cur") ); return ;;`);
    }
    const positional = key === 'tap' ? TOPICS.map((t) => t.name).join(' ') : '';
    cases.push(
      `    "${key}")`,
      '      case "$prev" in',
      ...values,
      '      esac',
      `      COMPREPLY=( $(compgen -W "${[...flags, '--help', positional].filter(Boolean).join(' ')}" -- "$cur") )`,
      '      return ;;',
    );
  };
  for (const [name, command] of Object.entries(commands)) {
    if ('subcommands' in command) {
      cases.push(
        `    "${name}")`,
        `      COMPREPLY=( $(compgen -W "${Object.keys(command.subcommands).join(' ')}" -- "$cur") )`,
        '      return ;;',
      );
      for (const [sub, def] of Object.entries(command.subcommands)) flagCase(`${name} ${sub}`, def);
    } else flagCase(name, command);
  }
  return `# tickflow completion for bash (and zsh with bashcompinit). Install:
#   source <(npx tickflow completion bash)          # this shell
#   npx tickflow completion bash > ~/.local/share/bash-completion/completions/tickflow
_tickflow() {
  local cur prev key
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${Object.keys(commands).join(' ')} help" -- "$cur") )
    return
  fi
  key="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -ge 3 ] || [ "$COMP_CWORD" -eq 2 -a "\${cur#-}" != "$cur" ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${Object.entries(commands)
  .flatMap(([name, command]) =>
    'subcommands' in command
      ? Object.keys(command.subcommands).map((sub) => `      "${name} ${sub}") key="${name} ${sub}" ;;`)
      : [],
  )
  .join('\n')}
    esac
  fi
  case "$key" in
${cases.join('\n')}
  esac
}
complete -F _tickflow tickflow
`;
}

/** The same script for zsh: bash's, loaded through bashcompinit. */
export function zshCompletion(commands: Readonly<Record<string, Command>>): string {
  return `# tickflow completion for zsh. Install: source <(npx tickflow completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(commands)}`;
}

/** `tickflow completion bash|zsh`: prints the script. */
export const COMPLETION_COMMAND: CommandDef = {
  spec: {
    usage: 'completion bash|zsh',
    positionals: [1, 1],
    flags: {},
  },
  run: async (p) => {
    // Loaded here: command-list imports this file.
    const { COMMANDS } = await import('../command-list');
    const shell = p.positionals[0];
    if (shell !== 'bash' && shell !== 'zsh')
      throw new TickflowError('USAGE', `no completion for '${shell}'`, 'use tickflow completion bash, or zsh');
    process.stdout.write(shell === 'bash' ? bashCompletion(COMMANDS) : zshCompletion(COMMANDS));
    return 0;
  },
};
