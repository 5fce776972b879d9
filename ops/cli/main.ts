import type { Command, CommandDef } from './args';
import { parseCommand, usageText } from './args';
import { COMMANDS } from './command-list';
import { TickflowError, describeError } from '../../pipelines/runtime/errors';
import { exitAfterLogs, parseLogLevel, setLogLevel } from '../../pipelines/runtime/log';

// The `tickflow` CLI. Each command is a spec (flags, positionals, usage) and a handler, looked up by
// name in command-list.ts; parsing is strict, so a typo gets a usage message instead of being ignored.

/** The entry of `record` named `name`, never one inherited from Object.prototype. */
function lookup<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

function isGroup(command: Command): command is Extract<Command, { subcommands: unknown }> {
  return 'subcommands' in command;
}

export function helpText(): string {
  const lines = ['tickflow: market-data stream processing on Kafka, QuestDB and a schema registry', '', 'commands:'];
  const defs = Object.values(COMMANDS).flatMap((command) =>
    isGroup(command) ? Object.values(command.subcommands) : [command],
  );
  for (const command of defs) lines.push(`  tickflow ${command.spec.usage}`);
  lines.push(
    '',
    'global: --log-level debug|info|warn|error (or TICKFLOW_LOG_LEVEL); logs go to stderr, TICKFLOW_LOG_FORMAT=json|pretty (default: pretty on a terminal, JSON otherwise)',
  );
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
  const command = lookup(COMMANDS, name);
  if (!command) throw new TickflowError('USAGE', `unknown command '${name}'`, `run \`tickflow help\` for the list`);
  if (!isGroup(command)) return runCommand(name, command, rest);
  const [sub, ...subArgs] = rest;
  const subcommand = sub ? lookup(command.subcommands, sub) : undefined;
  if (!subcommand) {
    const names = Object.keys(command.subcommands).map((s) => `tickflow ${name} ${s}`);
    throw new TickflowError(
      'USAGE',
      sub ? `unknown command 'tickflow ${name} ${sub}'` : `'tickflow ${name}' needs a subcommand`,
      `use one of: ${names.join(', ')}`,
    );
  }
  return runCommand(`${name} ${sub}`, subcommand, subArgs);
}

/** `--help` anywhere among a command's arguments prints its usage instead of running it. */
async function runCommand(name: string, command: CommandDef, args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(`${usageText(name, command.spec)}\n`);
    return 0;
  }
  return command.run(parseCommand(name, command.spec, args));
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
      if (!(error instanceof TickflowError) && error instanceof Error && error.stack)
        process.stderr.write(`${error.stack}\n`);
      const code = error instanceof TickflowError && error.code === 'USAGE' ? 2 : 1;
      exitAfterLogs(code);
    },
  );
}

if (require.main === module) runCli(process.argv.slice(2));
