import type { CommandDef, Parsed } from '../args';
import { positiveInt } from '../args';
import { runnableNames } from '../../../pipelines/registry';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka } from '../../../pipelines/runtime/kafka';
import { logger } from '../../../pipelines/runtime/log';
import { benchIdle } from '../../bench/idle';
import { benchRuntime, formatFigures, writeFigures } from '../../bench/runtime';
import { benchRestore, benchSoak, formatSoak, writeSoak } from '../../bench/soak';
import { prepare } from '../../demo/demo';
import { benchTrading, formatTrading } from '../../bench/trading';

const log = logger('cli');

/** Each benchmark by name (`tickflow bench <name>`): runs it with the command's flags, resolves to the exit code. */
const BENCHMARKS: Readonly<Record<string, (p: Parsed) => Promise<number>>> = {
  runtime: async (p) => {
    const options = {
      records: positiveInt('records', p.flags.records, 100_000) as number,
      instruments: positiveInt('instruments', p.flags.instruments, 50) as number,
      latencyRate: positiveInt('rate', p.flags.rate, 5000) as number,
      latencySeconds: 10,
      peer: !p.flags['no-peer'],
    };
    const runs = [];
    const kafka = createKafka('tickflow-bench');
    for (let i = 0; i < (positiveInt('runs', p.flags.runs, 3) as number); i++) {
      log.info(`bench run ${i + 1}`);
      runs.push(await benchRuntime(kafka, options));
      process.stdout.write(`${formatFigures(runs.slice(-1))}\n`);
    }
    process.stdout.write(`\n${formatFigures(runs)}\nfigures: ${writeFigures(runs)}\n`);
    return 0;
  },
  idle: async (p) => {
    const shares = await benchIdle(createKafka('tickflow-bench-idle'), {
      seconds: positiveInt('seconds', p.flags.seconds, 30) as number,
      runs: positiveInt('runs', p.flags.runs, 3) as number,
    });
    const sorted = [...shares].sort((a, b) => a - b);
    process.stdout.write(
      `tickflow bench idle: CPU of a running pipeline (${runnableNames().join(', ')}) with no traffic, % of one core: ${shares.map((s) => s.toFixed(2)).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}% (target < 2%)\n`,
    );
    return 0;
  },
  soak: async (p) => {
    const options = {
      rate: positiveInt('rate', p.flags.rate, 2000) as number,
      instruments: positiveInt('instruments', p.flags.instruments, 500) as number,
      minutes: positiveInt('minutes', p.flags.minutes, 10) as number,
      sampleSeconds: positiveInt('seconds', p.flags.seconds, 30) as number,
      restoreEvery: 4,
    };
    const kafka = createKafka('tickflow-bench-soak');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const samples = await benchSoak(kafka, admin, options);
      process.stdout.write(`${formatSoak(samples, options)}\nfigures: ${writeSoak(samples, options)}\n`);
    } finally {
      await admin.disconnect();
    }
    return 0;
  },
  trading: async (p) => {
    const options = {
      rate: positiveInt('rate', p.flags.rate, 50) as number,
      seconds: positiveInt('seconds', p.flags.seconds, 20) as number,
      instruments: positiveInt('instruments', p.flags.instruments, 6) as number,
      accounts: 3,
      quoteIntervalMs: 20,
    };
    const kafka = createKafka('tickflow-bench-trading');
    const runs = [];
    for (let i = 0; i < (positiveInt('runs', p.flags.runs, 3) as number); i++) {
      log.info(`bench trading run ${i + 1}`);
      runs.push(await benchTrading(kafka, options));
      process.stdout.write(`${formatTrading(runs.slice(-1), options)}\n`);
    }
    process.stdout.write(`\n${formatTrading(runs, options)}\n`);
    return 0;
  },
  restore: async (p) => {
    const kafka = createKafka('tickflow-bench-restore');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const instruments = positiveInt('instruments', p.flags.instruments, 30_000) as number;
      const figures = await benchRestore(kafka, admin, {
        instruments,
        eventsPerInstrument: 6,
        runs: positiveInt('runs', p.flags.runs, 3) as number,
      });
      for (const f of figures) {
        const sorted = [...f.seconds].sort((a, b) => a - b);
        process.stdout.write(
          `restore of ${f.store} partition 0 (${f.instruments} of the ${instruments} instruments): ${f.keys} keys from ${f.records} changelog records, ${f.seconds.map((s) => s.toFixed(2)).join(' / ')} s, median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s\n`,
        );
      }
    } finally {
      await admin.disconnect();
    }
    return 0;
  },
};

const NAMES = Object.keys(BENCHMARKS);

/** `tickflow bench <name>`: benchmarks against the local stack (README, "Benchmarks"). */
export const BENCH_COMMAND: CommandDef = {
  spec: {
    usage: `bench ${NAMES.join('|')} [--records N] [--instruments N] [--rate N] [--runs N] [--seconds N] [--minutes N] [--no-peer]`,
    positionals: [1, 1],
    flags: {
      records: { type: 'string', description: 'records per throughput phase (default 100000)' },
      'no-peer': {
        type: 'boolean',
        description: 'runtime: skip the Kafka Streams peer (it needs Java 17 and Maven to build ops/bench/peer)',
      },
      instruments: {
        type: 'string',
        description: 'synthetic instruments (default 50; soak 500; restore 30000, about 10000 per partition)',
      },
      rate: {
        type: 'string',
        description:
          'records/s in the latency phase (default 5000); soak: events/s (default 2000); trading: signals/s (default 50)',
      },
      runs: { type: 'string', description: 'repeat the whole benchmark N times and print medians (default 3)' },
      seconds: {
        type: 'string',
        description:
          'idle: seconds per measurement (default 30); soak: seconds between samples (default 30); trading: seconds of signals (default 20)',
      },
      minutes: { type: 'string', description: 'soak: how long (default 10)' },
    },
  },
  run: async (p) => {
    // Same preparation as the demo (stack, topics, schemas; idempotent), so a benchmark works on a fresh stack.
    await prepare();
    const name = p.positionals[0];
    const benchmark = Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
    if (!benchmark)
      throw new TickflowError(
        'USAGE',
        `unknown benchmark '${name}'`,
        `use tickflow bench ${NAMES.slice(0, -1).join(', ')} or ${NAMES[NAMES.length - 1]}`,
      );
    return benchmark(p);
  },
};
