import path from 'node:path';
import type { CommandDef, Parsed } from '../args';
import { namespaceFlag, namespaceTableSuffix, parseIsoUtc, positiveInt } from '../args';
import type { ReplayProgress } from '../../run/topic-replay';
import { progressLine, replayTable, replayTopic } from '../../run/topic-replay';
import { clusterBrokers } from '../../topics/apply';
import { parseSpeed } from '../../../connectors/file-replay/replay';
import { formatNames } from '../../../connectors/formats';
import { FILE_REPLAY_FEED } from '../../../connectors/registry';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { parseConfig } from '../../../pipelines/runtime/config';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';

/**
 * `tickflow replay FILE --format F`: publishes a recorded file as raw records (the `file-replay` feed
 * of connectors/registry.ts); exit 1 when stopped before its end. Its flags are checked here, naming
 * the flag, then become the feed's settings.
 */
export const REPLAY_COMMAND: CommandDef = {
  spec: {
    usage: `replay FILE --format ${formatNames().join('|')} [--speed max|1x|Nx] [--restart] [--max-line-bytes N]\n       tickflow replay --topic T|--table trades|quotes --from ISO --to ISO [--speed max|Nx] [--namespace P.] [--source-namespace P.]`,
    positionals: [0, 1],
    flags: {
      format: { type: 'string', choices: formatNames(), description: 'the file format' },
      topic: {
        type: 'string',
        description:
          'replay a time range of this topic (by tsEvent) into a separate namespace instead of a file; the live offsets are untouched',
      },
      table: {
        type: 'string',
        description:
          'replay a time range of this QuestDB table (trades, quotes) as the records it was written from, into a separate namespace',
      },
      from: { type: 'string', description: 'with --topic or --table: the first event time, ISO (inclusive)' },
      to: { type: 'string', description: 'with --topic or --table: the end of the range, ISO (exclusive)' },
      namespace: {
        type: 'string',
        description:
          'with --topic or --table: the namespace written to (default replay<unix seconds>.); then `tickflow run --namespace P.` processes it into tables with the suffix _P',
      },
      'source-namespace': { type: 'string', description: 'with --topic: read the copy under this prefix' },
      speed: { type: 'string', description: 'max (default), or pace by exchange time: 1x, 10x, ...' },
      restart: {
        type: 'boolean',
        description: 'publish from the first line, ignoring the checkpoint of an interrupted replay of the file',
      },
      'max-line-bytes': {
        type: 'string',
        description: "longest line published (default 900000); longer lines go to the raw topic's .dlq",
      },
    },
  },
  run: async (p) => {
    if (p.flags.topic !== undefined || p.flags.table !== undefined) return replayRangeCommand(p);
    if (p.positionals.length !== 1)
      throw new TickflowError(
        'USAGE',
        'tickflow replay needs a FILE (or --topic T --from ISO --to ISO)',
        'e.g. tickflow replay trades.csv --format tardis-trades',
      );
    if (!p.flags.format)
      throw new TickflowError('USAGE', 'tickflow replay needs --format', `use --format ${formatNames().join('|')}`);
    // A bad --speed fails before connecting; the feed then reads the speed from its settings.
    parseSpeed(String(p.flags.speed ?? 'max'));
    await ensureKafkaReachable();
    const kafka = createKafka('tickflow-replay');
    const maxLineBytes = positiveInt('max-line-bytes', p.flags['max-line-bytes']);
    const config = parseConfig('file-replay', FILE_REPLAY_FEED.config, {
      file: path.resolve(p.positionals[0]),
      format: String(p.flags.format),
      speed: String(p.flags.speed ?? 'max'),
      restart: String(Boolean(p.flags.restart)),
      ...(maxLineBytes === undefined ? {} : { maxLineBytes: String(maxLineBytes) }),
    });
    const feed = await FILE_REPLAY_FEED.create(config, { kafka, codec: new AvroCodec(), secrets: {} });
    // Ctrl-C stops after what was read so far is acknowledged; the checkpoint lets a rerun continue.
    process.once('SIGINT', () => void feed.stop());
    process.once('SIGTERM', () => void feed.stop());
    feed.start();
    const result = await feed.done;
    const letters = result.deadLetters > 0 ? `; ${result.deadLetters} over-long lines to ${result.topic}.dlq` : '';
    const resumed = result.resumedAfterLine !== null ? ` (resumed after line ${result.resumedAfterLine})` : '';
    process.stdout.write(
      `replayed ${result.published} records from ${p.positionals[0]} to ${result.topic} in ${result.seconds.toFixed(1)} s${resumed}${letters}\n`,
    );
    if (!result.completed) {
      process.stdout.write('stopped before the end of the file; run the same command to continue where it stopped\n');
      return 1;
    }
    return 0;
  },
};

function isoFlag(name: string, value: string | boolean | string[] | undefined): number {
  const ms = typeof value === 'string' ? parseIsoUtc(value) : NaN;
  if (Number.isNaN(ms))
    throw new TickflowError(
      'USAGE',
      `--${name} ${value === undefined ? 'is missing' : `'${String(value)}' is not an ISO time`}`,
      `e.g. --${name} 2020-02-22T01:00:00Z`,
    );
  return ms * 1000;
}

/**
 * `tickflow replay --topic T|--table T --from --to`: a time range of a topic or a QuestDB table into a
 * separate namespace, with progress.
 */
async function replayRangeCommand(p: Parsed): Promise<number> {
  if (p.positionals.length > 0 || p.flags.format)
    throw new TickflowError(
      'USAGE',
      '--topic and --table replay a range; a FILE and --format replay a file',
      'give one of them',
    );
  if (p.flags.topic !== undefined && p.flags.table !== undefined)
    throw new TickflowError('USAGE', '--topic and --table exclude each other', 'give one source');
  const fromMicros = isoFlag('from', p.flags.from);
  const toMicros = isoFlag('to', p.flags.to);
  const speed = parseSpeed(String(p.flags.speed ?? 'max'));
  const prefix = namespaceFlag(p.flags.namespace) ?? `replay${Math.floor(Date.now() / 1000)}.`;
  const sourcePrefix = namespaceFlag(p.flags['source-namespace']) ?? '';
  await ensureKafkaReachable();
  const kafka = createKafka('tickflow-replay');
  const admin = kafka.admin();
  await admin.connect();
  const controller = new AbortController();
  // While scanning nothing is published yet: Ctrl-C just stops. While publishing, the send in
  // flight finishes and the command says how far it got.
  let publishing = false;
  const onSignal = (): void => (publishing ? controller.abort() : process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = process.stderr.isTTY;
  try {
    let lastLine = 0;
    const common = {
      prefix,
      fromMicros,
      toMicros,
      speed,
      brokers: await clusterBrokers(admin),
      signal: controller.signal,
      onProgress: (progress: ReplayProgress) => {
        publishing = progress.phase === 'publish';
        const line = progressLine(progress);
        const final = progress.etaSeconds === 0;
        // A terminal gets one line rewritten in place; a log a line every 5 s and the last.
        if (tty) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
        else if (final || Date.now() - lastLine > 5000) {
          lastLine = Date.now();
          process.stderr.write(`${line}\n`);
        }
      },
    };
    const result =
      p.flags.table !== undefined
        ? await replayTable(kafka, admin, new AvroCodec(), { ...common, table: String(p.flags.table) })
        : await replayTopic(kafka, admin, new AvroCodec(), { ...common, topic: String(p.flags.topic), sourcePrefix });
    process.stdout.write(
      `replayed ${result.published} of ${result.scanned} records of ${String(p.flags.topic ?? `table ${String(p.flags.table)}`)} into ${result.target} in ${result.seconds.toFixed(1)} s` +
        `${result.created > 0 ? ` (created ${result.created} topics of namespace ${prefix})` : ''}\n` +
        `process them with: npx tickflow run --namespace ${prefix} --until-idle   (tables get the suffix ${namespaceTableSuffix(prefix)})\n`,
    );
    return result.completed ? 0 : 1;
  } finally {
    await admin.disconnect();
  }
}
