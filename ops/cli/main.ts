import type { Command, CommandDef } from './args';
import { parseCommand, usageText } from './args';
import { COMMANDS, SUMMARIES } from './command-list';
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
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = [
    'tickflow: market-data stream processing on Kafka, QuestDB and a schema registry',
    '',
    'usage: tickflow COMMAND [flags]    (tickflow help COMMAND, or COMMAND --help, for its flags)',
    '',
    'commands:',
  ];
  for (const name of Object.keys(COMMANDS)) lines.push(`  ${name.padEnd(width)}  ${SUMMARIES[name] ?? ''}`);
  lines.push(
    '',
    'environment (or KEY=VALUE lines in the file TICKFLOW_CONFIG_FILE names):',
    '  TICKFLOW_KAFKA_BROKERS, TICKFLOW_SCHEMA_REGISTRY_URL, TICKFLOW_QUESTDB_URL   point tickflow at existing servers',
    '  TICKFLOW_CONSOLE_TOKEN[_FILE]   the web console token (halt and resume; everything when not on 127.0.0.1)',
    "  TICKFLOW_METRICS_PORT, TICKFLOW_CONSOLE_PORT, TICKFLOW_HOME                ports and the local stack's folder",
    'global: --log-level debug|info|warn|error (or TICKFLOW_LOG_LEVEL); logs go to stderr, TICKFLOW_LOG_FORMAT=json|pretty (default: pretty on a terminal, JSON otherwise)',
    'more: README.md (secured clusters, adding a feed, stage, indicator or strategy)',
  );
  return lines.join('\n');
}

/** Help for one command (its summary, usage and flags) or for a group (its sub-commands). */
export function commandHelp(name: string, sub?: string): string {
  const command = lookup(COMMANDS, name);
  if (!command) throw unknownCommand(name);
  if (isGroup(command) && sub === undefined) {
    const width = Math.max(...Object.keys(command.subcommands).map((n) => n.length));
    return [
      `tickflow ${name}: ${SUMMARIES[name] ?? ''}`,
      '',
      ...Object.entries(command.subcommands).map(
        ([s, def]) =>
          // Each sub-command's usage and flags too, so one `GROUP --help` shows the whole group.
          `  ${s.padEnd(width)}  ${SUMMARIES[`${name} ${s}`] ?? ''}\n${usageText(`${name} ${s}`, def.spec)
            .replace(/^usage: /, '')
            .split('\n')
            .map((line) => `  ${' '.repeat(width)}  ${line}`)
            .join('\n')}`,
      ),
      '',
      `tickflow help ${name} SUB (or tickflow ${name} SUB --help) shows a sub-command's flags`,
    ].join('\n');
  }
  const def = isGroup(command) ? lookup(command.subcommands, sub as string) : command;
  const key = isGroup(command) ? `${name} ${sub}` : name;
  if (!def) throw unknownCommand(key);
  return `tickflow ${key}: ${SUMMARIES[key] ?? ''}\n${usageText(key, def.spec)}`;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

function unknownCommand(name: string): TickflowError {
  const [group, sub] = name.split(' ');
  const candidates =
    sub === undefined
      ? Object.keys(COMMANDS)
      : Object.keys((lookup(COMMANDS, group) as { subcommands?: Record<string, unknown> }).subcommands ?? {}).map(
          (s) => `${group} ${s}`,
        );
  const near = candidates
    .map((c) => ({ c, d: distance(name, c) }))
    .filter(({ c, d }) => d <= 2 || c.startsWith(name))
    .sort((x, y) => x.d - y.d)[0];
  return new TickflowError(
    'USAGE',
    `unknown command 'tickflow ${name}'`,
    near
      ? `did you mean \`tickflow ${near.c}\`? (\`tickflow help\` lists every command)`
      : 'run `tickflow help` for the list',
  );
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
    process.stdout.write(`${name === 'help' && rest.length > 0 ? commandHelp(rest[0], rest[1]) : helpText()}\n`);
    return name ? 0 : 2;
  }
  const command = lookup(COMMANDS, name);
  if (!command) throw unknownCommand(name);
  if (!isGroup(command)) return runCommand(name, command, rest);
  const [sub, ...subArgs] = rest;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(`${commandHelp(name)}\n`);
    return sub === undefined ? 2 : 0;
  }
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
  if (
    args.includes('--help') ||
    (args.includes('-h') && !Object.values(command.spec.flags).some((f) => f.short === 'h'))
  ) {
    const [group, sub] = name.split(' ');
    process.stdout.write(`${commandHelp(group, sub)}\n`);
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
