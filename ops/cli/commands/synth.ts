import path from 'node:path';
import type { CommandDef } from '../args';
import { positiveInt } from '../args';
import { parseSpeed } from '../../../connectors/file-replay/replay';
import type { MarketOptions } from '../../../connectors/synthetic/market';
import { MARKET_DEFAULTS } from '../../../connectors/synthetic/market';
import { publishMarket, writeMarket } from '../../../connectors/synthetic/publish';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';

/** `tickflow synth`: the synthetic market, published to its raw topic or written as NDJSON. */
export const SYNTH_COMMAND: CommandDef = {
  spec: {
    usage: 'synth [--count N] [--rate N] [--instruments N] [--seed N] [--faults P] [--speed 1x|Nx|max] [--start ISO] [--venue SYN|SYN-EQ] [--prefix P] [--out FILE]',
    positionals: [0, 0],
    flags: {
      count: { type: 'string', description: 'trades and quotes to generate (default 10000; heartbeats come on top)' },
      rate: { type: 'string', description: 'events per second of exchange time over all instruments (default 200)' },
      instruments: { type: 'string', description: 'instruments (default 3)' },
      seed: { type: 'string', description: 'the same seed gives the same stream (default 1)' },
      faults: { type: 'string', description: 'probability per event of each injected fault kind, 0 to 0.1 (default 0)' },
      speed: { type: 'string', description: 'publish pace: 1x (default: real time at --rate), Nx, or max' },
      start: { type: 'string', description: 'exchange time of the first event, ISO 8601 (default now)' },
      venue: { type: 'string', choices: ['SYN', 'SYN-EQ'], description: 'SYN is always open; SYN-EQ trades US equity hours (default SYN)' },
      prefix: { type: 'string', description: 'symbol prefix: symbols are <prefix>0, <prefix>1, ... (default S)' },
      out: { type: 'string', description: 'write NDJSON to this file instead of publishing' },
    },
  },
  run: async (p) => {
    const faults = p.flags.faults === undefined ? 0 : Number(p.flags.faults);
    if (!Number.isFinite(faults) || faults < 0 || faults > 0.1) throw new TickflowError('USAGE', `--faults must be a probability from 0 to 0.1, not '${String(p.flags.faults)}'`, 'for example --faults 0.01 (1% of events get each fault kind)');
    const start = p.flags.start === undefined ? Math.floor(Date.now() / 1000) * 1000 : Date.parse(String(p.flags.start));
    if (!Number.isFinite(start)) throw new TickflowError('USAGE', `--start '${String(p.flags.start)}' is not an ISO 8601 time`, 'for example --start 2024-01-02T14:30:00Z');
    const market: MarketOptions = {
      ...MARKET_DEFAULTS,
      seed: positiveInt('seed', p.flags.seed, 1) as number,
      instruments: positiveInt('instruments', p.flags.instruments, MARKET_DEFAULTS.instruments) as number,
      eventsPerSecond: positiveInt('rate', p.flags.rate, MARKET_DEFAULTS.eventsPerSecond) as number,
      venue: String(p.flags.venue ?? MARKET_DEFAULTS.venue),
      prefix: String(p.flags.prefix ?? MARKET_DEFAULTS.prefix),
      startMicros: start * 1000,
      faults: { badPrint: faults, nonPositive: faults, crossed: faults, locked: faults, duplicate: faults, outOfOrder: faults, gap: faults },
    };
    const count = positiveInt('count', p.flags.count, 10_000) as number;
    const summary = (expected: Map<string, number>): string => [...expected].sort().map(([rule, n]) => `${rule} ${n}`).join(', ') || 'none';
    if (p.flags.out) {
      const { lines, expected } = writeMarket(path.resolve(String(p.flags.out)), market, count);
      process.stdout.write(`wrote ${lines} lines to ${String(p.flags.out)}; findings they must cause: ${summary(expected)}\n`);
      return 0;
    }
    await ensureKafkaReachable();
    const result = await publishMarket(createKafka('tickflow-synth'), new AvroCodec(), market, count, parseSpeed(String(p.flags.speed ?? '1x')));
    process.stdout.write(`published ${result.published} records to ${result.topic} in ${result.seconds.toFixed(1)} s; findings they must cause: ${summary(result.expected)}\n`);
    return 0;
  },
};
