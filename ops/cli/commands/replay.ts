import path from 'node:path';
import type { CommandDef } from '../args';
import { positiveInt } from '../args';
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
    usage: `replay FILE --format ${formatNames().join('|')} [--speed max|1x|Nx] [--restart] [--max-line-bytes N]`,
    positionals: [1, 1],
    flags: {
      format: { type: 'string', choices: formatNames(), description: 'the file format' },
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
