import path from 'node:path';
import type { CommandDef } from '../args';
import { positiveInt } from '../args';
import { SYNTHETIC_FEED } from '../../../connectors/registry';
import { marketOf, writeMarket } from '../../../connectors/synthetic/publish';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { parseConfig } from '../../../pipelines/runtime/config';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';

/**
 * `tickflow synth`: the synthetic market (the `synthetic` feed of connectors/registry.ts), published
 * to its raw topic or written as NDJSON. Its flags are checked here, naming the flag, then become
 * the feed's settings.
 */
export const SYNTH_COMMAND: CommandDef = {
  spec: {
    usage:
      'synth [--count N] [--rate N] [--instruments N] [--seed N] [--faults P] [--speed 1x|Nx|max] [--start ISO] [--venue SYN|SYN-EQ] [--prefix P] [--out FILE]',
    positionals: [0, 0],
    flags: {
      count: { type: 'string', description: 'trades and quotes to generate (default 10000; heartbeats come on top)' },
      rate: { type: 'string', description: 'events per second of exchange time over all instruments (default 200)' },
      instruments: { type: 'string', description: 'instruments (default 3)' },
      seed: { type: 'string', description: 'the same seed gives the same stream (default 1)' },
      faults: {
        type: 'string',
        description: 'probability per event of each injected fault kind, 0 to 0.1 (default 0)',
      },
      speed: { type: 'string', description: 'publish pace: 1x (default: real time at --rate), Nx, or max' },
      start: { type: 'string', description: 'exchange time of the first event, ISO 8601 (default now)' },
      venue: {
        type: 'string',
        choices: SYNTHETIC_FEED.config.venue.choices,
        description: 'SYN is always open; SYN-EQ trades US equity hours (default SYN)',
      },
      prefix: { type: 'string', description: 'symbol prefix: symbols are <prefix>0, <prefix>1, ... (default S)' },
      out: { type: 'string', description: 'write NDJSON to this file instead of publishing' },
    },
  },
  run: async (p) => {
    const faults = p.flags.faults === undefined ? 0 : Number(p.flags.faults);
    if (!Number.isFinite(faults) || faults < 0 || faults > 0.1)
      throw new TickflowError(
        'USAGE',
        `--faults must be a probability from 0 to 0.1, not '${String(p.flags.faults)}'`,
        'for example --faults 0.01 (1% of events get each fault kind)',
      );
    if (p.flags.start !== undefined && !Number.isFinite(Date.parse(String(p.flags.start)))) {
      throw new TickflowError(
        'USAGE',
        `--start '${String(p.flags.start)}' is not an ISO 8601 time`,
        'for example --start 2024-01-02T14:30:00Z',
      );
    }
    const settings: Record<string, string> = {
      seed: String(positiveInt('seed', p.flags.seed, SYNTHETIC_FEED.config.seed.default)),
      instruments: String(positiveInt('instruments', p.flags.instruments, SYNTHETIC_FEED.config.instruments.default)),
      eventsPerSecond: String(positiveInt('rate', p.flags.rate, SYNTHETIC_FEED.config.eventsPerSecond.default)),
      faults: String(faults),
      count: String(positiveInt('count', p.flags.count, SYNTHETIC_FEED.config.count.default)),
    };
    // Flags named like their settings, checked by the feed's schema (venue) or when it is created (speed).
    for (const setting of ['venue', 'prefix', 'start', 'speed'] as const) {
      if (p.flags[setting] !== undefined) settings[setting] = String(p.flags[setting]);
    }
    const config = parseConfig('synthetic', SYNTHETIC_FEED.config, settings);
    const summary = (expected: Map<string, number>): string =>
      [...expected]
        .sort()
        .map(([rule, n]) => `${rule} ${n}`)
        .join(', ') || 'none';
    if (p.flags.out) {
      const { lines, expected } = writeMarket(
        path.resolve(String(p.flags.out)),
        marketOf(config, Date.now()),
        config.count,
      );
      process.stdout.write(
        `wrote ${lines} lines to ${String(p.flags.out)}; findings they must cause: ${summary(expected)}\n`,
      );
      return 0;
    }
    await ensureKafkaReachable();
    const feed = await SYNTHETIC_FEED.create(config, {
      kafka: createKafka('tickflow-synth'),
      codec: new AvroCodec(),
      secrets: {},
    });
    feed.start();
    const result = await feed.done;
    process.stdout.write(
      `published ${result.published} records to ${result.topic} in ${result.seconds.toFixed(1)} s; findings they must cause: ${summary(result.expected)}\n`,
    );
    return 0;
  },
};
