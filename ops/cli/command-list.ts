import type { Command } from './args';
import { BENCH_COMMAND } from './commands/bench';
import { COMPLETION_COMMAND } from './commands/completion';
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
  completion: COMPLETION_COMMAND,
  demo: DEMO_COMMAND,
};

/**
 * What each command does, in one line: `tickflow help` lists them, `tickflow help CMD` and
 * `CMD --help` lead with them. A group's sub-commands are `group sub`.
 */
export const SUMMARIES: Readonly<Record<string, string>> = {
  stack: 'the local stack: Kafka, QuestDB and the schema registry on 127.0.0.1',
  'stack up': 'start the local stack (idempotent; installs the servers from Maven Central the first time)',
  'stack down': 'stop the local stack (--purge also deletes its data and logs)',
  'stack status': 'each server, its state and its address',
  'stack logs': "a server's log (-f follows it)",
  topics: 'the topic catalog (topics/catalog.ts) on the cluster',
  'topics apply': 'create and reconfigure topics until the cluster matches the catalog',
  'topics list': 'the catalog: topics, partitions, keys, schemas, producers',
  'topics describe': "one topic's catalog entry and its state on the cluster",
  schemas: 'the Avro schemas (schemas/*.avsc) and the registry',
  'schemas register': 'register every topic value schema (compatibility BACKWARD)',
  'schemas check': 'fail, naming the field, when a changed schema is incompatible with the registered one',
  'schemas codegen': 'regenerate schemas/types.generated.ts from the .avsc files (--check: fail on drift)',
  replay: 'publish a recorded file, or copy a time range of a topic or QuestDB table into a namespace',
  synth: 'a synthetic market (deterministic by seed, with injected faults) to Kafka or NDJSON',
  feed: 'run a live feed (Binance websocket, Alpha Vantage REST) into its raw topic',
  tap: 'print a topic decoded: filtered, as lines, JSON or a table; stops at the end unless --follow',
  lag: "each stage's and sink's lag per partition, state and last commit",
  config: "a running pipeline's settings (the compacted ops.config.v1)",
  'config set': 'change a setting of a running stage: validated, applied at a batch boundary, recorded',
  'config unset': 'return a setting to its default (validated and recorded like set)',
  'config show': 'the settings in force (--all with defaults, --history every change)',
  run: 'run stages and sinks in this process (exactly-once), serving /metrics, /healthz and /readyz',
  halt: 'the kill switch: cancel open orders (and with --flatten close positions) of every account, one, or one instrument',
  resume: 'return halted accounts or instruments to trading',
  broker: 'a live broker (Alpaca) in place of the paper execution stage',
  bench: 'benchmarks that print figures (runtime, idle, soak, restore, trading)',
  grafana: 'Grafana dashboards as code',
  'grafana build': 'regenerate ops/grafana/dashboards/*.json from their TypeScript (--check: fail on a difference)',
  console: 'the web console and its read API, on its own (npm start and run --console serve it beside a pipeline)',
  completion: 'a shell completion script: source <(npx tickflow completion bash)',
  demo: 'the stack, the pipeline and the bundled data end to end, with a summary and the console (npm start)',
};
