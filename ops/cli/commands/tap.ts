import type { CommandDef } from '../args';
import { positiveInt } from '../args';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { tap } from '../tap';

/** `tickflow tap TOPIC`: prints a topic's records decoded. */
export const TAP_COMMAND: CommandDef = {
  spec: {
    usage: 'tap TOPIC [--from-beginning] [--max N] [--json]',
    positionals: [1, 1],
    flags: {
      'from-beginning': { type: 'boolean', description: 'start at the oldest record (default: only new ones)' },
      max: { type: 'string', description: 'stop after N records' },
      json: { type: 'boolean', description: 'one JSON object per line with topic, partition, offset, key, value' },
    },
  },
  run: async (p) => {
    await ensureKafkaReachable();
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    process.once('SIGTERM', () => controller.abort());
    await tap(createKafka('tickflow-tap'), {
      topic: p.positionals[0],
      fromBeginning: Boolean(p.flags['from-beginning']),
      max: positiveInt('max', p.flags.max),
      json: Boolean(p.flags.json),
      signal: controller.signal,
    });
    return 0;
  },
};
