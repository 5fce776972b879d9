import type { CommandDef } from '../args';
import { namespaceFlag, parseIsoUtc, positiveInt } from '../args';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import type { TapStart } from '../tap';
import { tap } from '../tap';
import { parseCondition } from '../tap-filter';

/** `--from beginning|end|ISO time`; `--from-beginning` is the older spelling of `--from beginning`. */
export function tapStart(from: string | undefined, fromBeginning: boolean): TapStart {
  if (fromBeginning && from !== undefined && from !== 'beginning')
    throw new TickflowError('USAGE', `--from-beginning contradicts --from ${from}`, 'give one of them');
  if (fromBeginning || from === undefined || from === 'beginning') return { kind: 'beginning' };
  if (from === 'end') return { kind: 'end' };
  const ms = parseIsoUtc(from);
  if (Number.isNaN(ms))
    throw new TickflowError(
      'USAGE',
      `--from '${from}' is neither beginning, end nor an ISO time`,
      'e.g. --from 2026-11-30T09:30:00Z (records written to Kafka at or after it), --from end --follow',
    );
  return { kind: 'time', ms };
}

/** `tickflow tap TOPIC`: prints a topic's records decoded, filtered, as lines, JSON or a table. */
export const TAP_COMMAND: CommandDef = {
  spec: {
    usage:
      'tap TOPIC [--from beginning|end|ISO | --from-beginning] [--follow] [--key K ...] [--where EXPR ...] [--max N] [--json|--table] [--namespace P.]',
    positionals: [1, 1],
    flags: {
      from: {
        type: 'string',
        description:
          'where to start: beginning (default), end, or an ISO time (the first record written to Kafka at or after it)',
      },
      'from-beginning': { type: 'boolean', description: 'the same as --from beginning' },
      follow: {
        type: 'boolean',
        short: 'f',
        description: 'keep printing new records after the end (until Ctrl-C or --max); without it tap stops at the end',
      },
      key: {
        type: 'string',
        multiple: true,
        description:
          'only records with this key; * matches anything, e.g. --key "BINANCE-FUT:*" (repeatable: any of them)',
      },
      where: {
        type: 'string',
        multiple: true,
        description:
          'only records whose field meets FIELD OP VALUE, OP one of = != > >= < <= ~ (regex); decimals compare exactly; ts* fields take ISO times (repeatable: all of them)',
      },
      max: { type: 'string', description: 'stop after printing N records' },
      json: {
        type: 'boolean',
        description: 'one JSON object per line: topic, partition, offset, timestamp, key, value',
      },
      table: { type: 'boolean', description: "an aligned table of the value's fields" },
      namespace: { type: 'string', description: 'read the copy of TOPIC under this prefix (run --namespace)' },
    },
  },
  run: async (p) => {
    const from = tapStart(p.flags.from as string | undefined, Boolean(p.flags['from-beginning']));
    if (p.flags.json && p.flags.table)
      throw new TickflowError('USAGE', '--json and --table exclude each other', 'give one');
    const where = (p.flags.where as string[] | undefined) ?? [];
    where.forEach(parseCondition); // a bad expression fails before connecting
    const max = positiveInt('max', p.flags.max);
    const prefix = namespaceFlag(p.flags.namespace);
    await ensureKafkaReachable();
    const controller = new AbortController();
    // Following ends cleanly on Ctrl-C; a bounded read has nothing to finish, so it just stops.
    const onSignal = (): void => (p.flags.follow ? controller.abort() : process.exit(130));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const printed = await tap(createKafka('tickflow-tap'), {
      topic: p.positionals[0],
      prefix,
      from,
      follow: Boolean(p.flags.follow),
      keys: (p.flags.key as string[] | undefined) ?? [],
      where,
      max,
      format: p.flags.json ? 'json' : p.flags.table ? 'table' : 'line',
      signal: controller.signal,
    });
    process.stderr.write(`tap: ${printed} record(s)\n`);
    return 0;
  },
};
