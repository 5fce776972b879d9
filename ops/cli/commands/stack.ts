import fs from 'node:fs';
import { spawn } from 'node:child_process';
import type { CommandDef } from '../args';
import { TickflowError } from '../../../pipelines/runtime/errors';
import type { BrokerCount } from '../../stack/stack';
import { logFiles, stackDown, stackStatus, stackUp } from '../../stack/stack';

export async function printStatus(json = false): Promise<void> {
  const rows = await stackStatus();
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  for (const row of rows) {
    process.stdout.write(
      `${row.component.padEnd(10)} ${row.state.padEnd(11)} ${row.address}${row.pid ? `  pid ${row.pid}` : ''}${row.detail ? `  (${row.detail})` : ''}\n`,
    );
  }
}

/** `tickflow stack up|down|status|logs`: the local Kafka, QuestDB and schema registry. */
export const STACK_COMMANDS: Readonly<Record<string, CommandDef>> = {
  up: {
    spec: {
      usage: 'stack up [--brokers 1|3]',
      positionals: [0, 0],
      flags: {
        brokers: {
          type: 'string',
          choices: ['1', '3'],
          description: 'Kafka nodes to run on this machine (default: as created before, else 1)',
        },
      },
    },
    run: async (parsed) => {
      const brokers = parsed.flags.brokers === undefined ? undefined : (Number(parsed.flags.brokers) as BrokerCount);
      const started = Date.now();
      const result = await stackUp({ brokers });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (result.started.length) process.stdout.write(`started ${result.started.join(', ')} in ${seconds} s\n`);
      if (result.alreadyRunning.length) process.stdout.write(`already running: ${result.alreadyRunning.join(', ')}\n`);
      if (result.external.length) process.stdout.write(`left alone (environment): ${result.external.join(', ')}\n`);
      await printStatus();
      return 0;
    },
  },
  down: {
    spec: {
      usage: 'stack down [--purge]',
      positionals: [0, 0],
      flags: { purge: { type: 'boolean', description: 'also delete the data and logs (downloads are kept)' } },
    },
    run: async (parsed) => {
      const stopped = await stackDown({ purge: Boolean(parsed.flags.purge) });
      process.stdout.write(stopped.length ? `stopped ${stopped.join(', ')}\n` : 'nothing was running\n');
      return 0;
    },
  },
  status: {
    spec: {
      usage: 'stack status [--json]',
      positionals: [0, 0],
      flags: { json: { type: 'boolean', description: 'print JSON' } },
    },
    // Exit 3 when a component is not running, so scripts can wait on it.
    run: async (parsed) => {
      await printStatus(Boolean(parsed.flags.json));
      const rows = await stackStatus();
      return rows.every((r) => r.state === 'running' || r.state === 'external') ? 0 : 3;
    },
  },
  logs: {
    spec: {
      usage: 'stack logs [COMPONENT] [--lines N] [--follow]',
      positionals: [0, 1],
      flags: {
        lines: { type: 'string', description: 'lines per log (default 50)' },
        follow: { type: 'boolean', short: 'f', description: 'keep printing new lines' },
      },
    },
    run: async (parsed) => {
      const files = logFiles(parsed.positionals[0]);
      if (files.length === 0) {
        process.stdout.write('no logs yet: run `tickflow stack up` first\n');
        return 0;
      }
      const lines = Number(parsed.flags.lines ?? 50);
      if (!Number.isInteger(lines) || lines <= 0)
        throw new TickflowError(
          'USAGE',
          `--lines must be a positive whole number, not '${String(parsed.flags.lines)}'`,
          'for example --lines 100',
        );
      if (parsed.flags.follow) {
        const child = spawn('tail', ['-n', String(lines), '-F', ...files.map((f) => f.file)], { stdio: 'inherit' });
        await new Promise((resolve) => child.on('exit', resolve));
        return 0;
      }
      for (const { name, file } of files) {
        const text = fs.readFileSync(file, 'utf8').split('\n');
        process.stdout.write(`==> ${name} (${file}) <==\n${text.slice(-lines - 1).join('\n')}\n`);
      }
      return 0;
    },
  },
};
