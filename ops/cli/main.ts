import type { CommandSpec } from './args';
import { parseCommand, usageText } from './args';
import { COMMAND_DEFS, SCHEMA_COMMANDS, TOPIC_COMMANDS } from './commands';
import { STACK_SPECS, runStack } from './stack-commands';
import { TickflowError, describeError } from '../../pipelines/runtime/errors';
import { exitAfterLogs, parseLogLevel, setLogLevel } from '../../pipelines/runtime/log';

/**
 * The `tickflow` CLI. Each command is a spec (flags, positionals, usage) and a handler; parsing is
 * strict, so a typo gets a usage message instead of being ignored.
 */
interface Command {
  spec: CommandSpec;
  run(parsed: ReturnType<typeof parseCommand>): Promise<number>;
}

const GROUPS: Record<string, Record<string, Command>> = {
  stack: Object.fromEntries(Object.entries(STACK_SPECS).map(([sub, spec]) => [sub, { spec, run: (p) => runStack(sub, p) }])),
  topics: TOPIC_COMMANDS,
  schemas: SCHEMA_COMMANDS,
};

const COMMANDS: Record<string, Command> = COMMAND_DEFS;

export function helpText(): string {
  const lines = ['tickflow: market-data stream processing on Kafka, QuestDB and a schema registry', '', 'commands:'];
  for (const group of Object.values(GROUPS)) for (const command of Object.values(group)) lines.push(`  tickflow ${command.spec.usage}`);
  for (const command of Object.values(COMMANDS)) lines.push(`  tickflow ${command.spec.usage}`);
  lines.push('', 'global: --log-level debug|info|warn|error (or TICKFLOW_LOG_LEVEL); logs go to stderr, TICKFLOW_LOG_FORMAT=json|pretty (default: pretty on a terminal, JSON otherwise)');
  return lines.join('\n');
}

function extractLogLevel(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--log-level' || arg.startsWith('--log-level=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      try {
        setLogLevel(parseLogLevel(value ?? ''));
      } catch (error) {
        throw new TickflowError('USAGE', (error as Error).message, 'for example --log-level debug');
      }
      continue;
    }
    rest.push(arg);
  }
  return rest;
}

export async function main(argv: string[]): Promise<number> {
  const args = extractLogLevel(argv);
  const [name, ...rest] = args;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${helpText()}\n`);
    return name ? 0 : 2;
  }
  const group = GROUPS[name];
  if (group) {
    const [sub, ...subArgs] = rest;
    const command = sub ? group[sub] : undefined;
    if (!command) {
      throw new TickflowError('USAGE', sub ? `unknown command 'tickflow ${name} ${sub}'` : `'tickflow ${name}' needs a subcommand`, `use one of: ${Object.keys(group).map((s) => `tickflow ${name} ${s}`).join(', ')}`);
    }
    if (subArgs.includes('--help')) {
      process.stdout.write(`${usageText(`${name} ${sub}`, command.spec)}\n`);
      return 0;
    }
    return command.run(parseCommand(`${name} ${sub}`, command.spec, subArgs));
  }
  const command = COMMANDS[name];
  if (!command) throw new TickflowError('USAGE', `unknown command '${name}'`, `run \`tickflow help\` for the list`);
  if (rest.includes('--help')) {
    process.stdout.write(`${usageText(name, command.spec)}\n`);
    return 0;
  }
  return command.run(parseCommand(name, command.spec, rest));
}

/** Runs the CLI and exits the process with its status; the package bin calls this. */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => {
      // Exit explicitly: client libraries may keep timers alive after a command is done. Output
      // and log lines still queued for a pipe go first.
      process.stdout.write('', () => exitAfterLogs(code));
    },
    (error: unknown) => {
      process.stderr.write(`tickflow: ${describeError(error)}\n`);
      if (!(error instanceof TickflowError) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      const code = error instanceof TickflowError && error.code === 'USAGE' ? 2 : 1;
      exitAfterLogs(code);
    },
  );
}

if (require.main === module) runCli(process.argv.slice(2));

export { COMMANDS, GROUPS };
