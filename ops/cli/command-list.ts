import type { Command } from './args';
import { BENCH_COMMAND } from './commands/bench';
import { BROKER_COMMAND } from './commands/broker';
import { CONFIG_COMMANDS } from './commands/config';
import { CONSOLE_COMMAND } from './commands/console';
import { DEMO_COMMAND } from './commands/demo';
import { FEED_COMMAND } from './commands/feed';
import { GRAFANA_COMMAND } from './commands/grafana';
import { HALT_COMMAND } from './commands/halt';
import { LAG_COMMAND } from './commands/lag';
import { RESUME_COMMAND } from './commands/resume';
import { REPLAY_COMMAND } from './commands/replay';
import { RUN_COMMAND } from './commands/run';
import { SCHEMA_COMMANDS } from './commands/schemas';
import { STACK_COMMANDS } from './commands/stack';
import { SYNTH_COMMAND } from './commands/synth';
import { TAP_COMMAND } from './commands/tap';
import { TOPIC_COMMANDS } from './commands/topics';

/**
 * Every `tickflow` command by name, explicitly (no import side effects); `tickflow help` lists them
 * in this order. A new command is a file in commands/ exporting its CommandDef (or its sub-commands),
 * added here.
 */
export const COMMANDS: Readonly<Record<string, Command>> = {
  stack: { subcommands: STACK_COMMANDS },
  topics: { subcommands: TOPIC_COMMANDS },
  schemas: { subcommands: SCHEMA_COMMANDS },
  replay: REPLAY_COMMAND,
  synth: SYNTH_COMMAND,
  feed: FEED_COMMAND,
  tap: TAP_COMMAND,
  lag: LAG_COMMAND,
  config: { subcommands: CONFIG_COMMANDS },
  run: RUN_COMMAND,
  halt: HALT_COMMAND,
  resume: RESUME_COMMAND,
  broker: BROKER_COMMAND,
  bench: BENCH_COMMAND,
  grafana: GRAFANA_COMMAND,
  console: CONSOLE_COMMAND,
  demo: DEMO_COMMAND,
};
