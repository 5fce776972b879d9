import fs from 'node:fs';
import path from 'node:path';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { replayFile } from '../../connectors/file-replay/replay';
import { FORMATS } from '../../connectors/formats';
import { createKafka } from '../../pipelines/runtime/kafka';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import type { DeadLetter, RawRecord } from '../../schemas/types.generated';
import { tempFile, unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';
import { sleep, waitFor } from '../support/runtime-harness';

/**
 * A hostile or broken record, in every registered format, through the real normalize stage: the
 * record becomes a dead letter on its raw topic's .dlq with a short error naming the field, and the
 * good record right behind it on the same partition is processed at once: no crash, no hang, no
 * stuck partition. Instruments are fresh per run.
 */
const S = 1_000_000;

interface Case {
  readonly format: string;
  readonly what: string;
  /** The hostile payload and the good one after it, for a fresh symbol. */
  lines(symbol: string, now: number): [string, string];
  readonly error: RegExp;
  /** The canonical topic the good record reaches. */
  readonly topic: string;
}

const tardis = (symbol: string, ts: number, fields: { price?: string; timestamp?: string } = {}): string =>
  [
    'binance-futures',
    symbol,
    fields.timestamp ?? String(ts),
    String(ts + 300),
    String(ts),
    'buy',
    fields.price ?? '9682.5',
    '0.132',
  ].join(',');
const ndjson = (symbol: string, ts: number, fields: Record<string, unknown> = {}): string =>
  JSON.stringify({
    type: 'trade',
    venue: 'SYN',
    symbol,
    tsEvent: ts,
    tsRecv: ts + 100,
    price: '101.25',
    size: '0.5',
    side: 'BUY',
    tradeId: String(ts),
    ...fields,
  });
const binanceTrade = (symbol: string, ts: number, fields: Record<string, unknown> = {}): string =>
  JSON.stringify({
    e: 'trade',
    E: Math.floor(ts / 1000),
    s: symbol,
    t: ts % 1_000_000_000,
    p: '0.0025',
    q: '100',
    T: Math.floor(ts / 1000),
    m: true,
    ...fields,
  });
const binanceBook = (symbol: string, ts: number, bids: unknown = [['0.0024', '10']]): string =>
  JSON.stringify({
    symbol,
    E: Math.floor(ts / 1000),
    lastUpdateId: ts % 1_000_000_000,
    bids,
    asks: [['0.0026', '10']],
  });
const utc = (ts: number): string => new Date(ts / 1000).toISOString().replace('T', ' ').slice(0, 19);
const alphaVantage = (pair: string, ts: number, refreshed = utc(ts)): string =>
  JSON.stringify({
    'Realtime Currency Exchange Rate': {
      '1. From_Currency Code': pair.slice(0, 3),
      '3. To_Currency Code': pair.slice(4),
      '5. Exchange Rate': '157.407',
      '6. Last Refreshed': refreshed,
      '7. Time Zone': 'UTC',
      '8. Bid Price': '157.404',
      '9. Ask Price': '157.413',
    },
  });
const compact = (ts: number): string =>
  new Date(ts / 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', ' ')
    .replace(/(\d{2})(\d{2})(\d{2})\./, '$1:$2:$3.')
    .slice(0, 21);

const CASES: readonly Case[] = [
  {
    format: 'tardis-trades',
    what: 'a price with an enormous exponent',
    lines: (s, t) => [tardis(s, t, { price: '1e9000000000000000' }), tardis(s, t + 1000)],
    error: /price .*exponent/,
    topic: 'md.trades.v1',
  },
  {
    format: 'tardis-trades',
    what: 'a timestamp far out of range',
    lines: (s, t) => [tardis(s, t, { timestamp: '9999999999999999' }), tardis(s, t + 1000)],
    error: /timestamp/,
    topic: 'md.trades.v1',
  },
  {
    format: 'tickflow-ndjson',
    what: 'a price of 1e9000000000000000',
    lines: (s, t) => [ndjson(s, t, { price: '1e9000000000000000' }), ndjson(s, t + 1000)],
    error: /price .*exponent/,
    topic: 'md.trades.v1',
  },
  {
    format: 'tickflow-ndjson',
    what: 'a 100,000-digit size',
    lines: (s, t) => [ndjson(s, t, { size: '9'.repeat(100_000) }), ndjson(s, t + 1000)],
    error: /size .*longer than the 64 characters/,
    topic: 'md.trades.v1',
  },
  {
    format: 'tickflow-ndjson',
    what: 'JSON nested 50,000 deep',
    lines: (s, t) => [ndjson(s, t).replace('"0.5"', `${'['.repeat(50_000)}${']'.repeat(50_000)}`), ndjson(s, t + 1000)],
    error: /nest|deep|long/,
    topic: 'md.trades.v1',
  },
  {
    format: 'binance-trade',
    what: 'a trade time in the year 285,000',
    lines: (s, t) => [binanceTrade(s, t, { T: 9e15 }), binanceTrade(s, t + 1000)],
    error: /'T'/,
    topic: 'md.trades.v1',
  },
  {
    format: 'binance-book',
    what: 'a level priced 1e99999999',
    lines: (s, t) => [binanceBook(s, t, [['1e99999999', '1']]), binanceBook(s, t + 1000)],
    error: /bids/,
    topic: 'md.book.v1',
  },
  {
    format: 'alphavantage-fx',
    what: 'a two-digit year',
    lines: (p, t) => [alphaVantage(p, t, '13-05-29 20:12:01'), alphaVantage(p, t)],
    error: /Last Refreshed/,
    topic: 'md.quotes.v1',
  },
  {
    format: 'alphavantage-fx',
    what: 'month 13',
    lines: (p, t) => [alphaVantage(p, t, '2024-13-29 20:12:01'), alphaVantage(p, t)],
    error: /Last Refreshed|month/,
    topic: 'md.quotes.v1',
  },
  {
    format: 'truefx-csv',
    what: 'hour 99',
    lines: (p, t) => [
      `${p},${compact(t).replace(/ \d{2}:/, ' 99:')},86.655,86.728`,
      `${p},${compact(t)},86.655,86.728`,
    ],
    error: /time|hour/,
    topic: 'md.quotes.v1',
  },
];

describe('hostile input through the real stack: a dead letter out, the next good record processed', () => {
  let t: TestPipeline;
  let consumer: Consumer;
  const seen: { topic: string; at: number; message: KafkaMessage }[] = [];
  beforeAll(async () => {
    t = await startTestPipeline('test-hostile', ['normalize']);
    // Earlier runs' raw records first: the timing below is of this test's records alone.
    await t.drain();
    // Watches the outputs from now on (latest offsets), stamping when each record arrives.
    const kafka: Kafka = createKafka('test-hostile-watch');
    consumer = kafka.consumer({
      groupId: unique('tickflow.test.hostile.'),
      readUncommitted: false,
      maxWaitTimeInMs: 50,
    });
    await consumer.connect();
    const raw = [...new Set(Object.values(FORMATS).map((f) => `${f.rawTopic}.dlq`))];
    for (const topic of ['md.trades.v1', 'md.quotes.v1', 'md.book.v1', 'md.quality.v1', ...raw])
      await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, message }) => void seen.push({ topic, at: Date.now(), message }),
    });
    await sleep(3000);
  });
  afterAll(async () => {
    await consumer.disconnect();
    await t.stop();
  });

  async function publish(codec: AvroCodec, format: string, key: string, payloads: string[]): Promise<number> {
    const { rawTopic, source } = FORMATS[format];
    const producer = t.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const now = Date.now() * 1000;
    const messages = await Promise.all(
      payloads.map(async (payload, i) => {
        const raw: RawRecord = {
          source,
          format,
          tsRecv: now,
          origin: `hostile-test:${key}:${i}`,
          sequence: i + 1,
          payload,
        };
        return { key, value: await codec.encode(rawTopic, raw) };
      }),
    );
    await producer.send({ topic: rawTopic, messages, acks: -1 });
    const sent = Date.now();
    await producer.disconnect();
    return sent;
  }

  for (const c of CASES) {
    it(`${c.format}: ${c.what}`, async () => {
      const symbol =
        c.format.startsWith('alphavantage') || c.format.startsWith('truefx')
          ? `${unique('').slice(0, 3).replace(/[0-9]/g, 'Q').toUpperCase()}/JPY`
          : unique('H').toUpperCase();
      const now = Date.now() * 1000 - 5 * S;
      const [bad, good] = c.lines(symbol, now);
      const key = `${symbol}`;
      const sent = await publish(t.codec, c.format, key, [bad, good]);
      const dlq = `${FORMATS[c.format].rawTopic}.dlq`;
      let letter: { at: number; value: DeadLetter } | undefined;
      let output: { at: number } | undefined;
      await waitFor(
        `the dead letter and the good record of ${c.what}`,
        async () => {
          for (const s of seen) {
            if (!letter && s.topic === dlq && s.message.key?.toString() === key)
              letter = { at: s.at, value: await t.codec.decode<DeadLetter>(dlq, s.message.value) };
            if (!output && s.topic === c.topic && (s.message.key?.toString() ?? '').endsWith(symbol))
              output = { at: s.at };
          }
          return letter !== undefined && output !== undefined;
        },
        30_000,
        20,
      );
      const done = Math.max((letter as { at: number }).at, (output as { at: number }).at) - sent;
      process.stderr.write(
        `hostile input ${c.format} (${c.what}): dead letter and next good record ${done} ms after the send\n`,
      );
      const value = (letter as { value: DeadLetter }).value;
      expect([value.errorCode, value.stage]).toEqual(['PARSE_ERROR', 'normalize']);
      expect(value.errorMessage).toMatch(c.error);
      expect(value.errorMessage.length).toBeLessThan(400);
      expect(done).toBeLessThan(1000);
    }, 60_000);
  }

  it('replay: a line too long for a Kafka message is a LINE_TOO_LONG dead letter with its origin; the lines around it go through', async () => {
    const symbol = unique('LONG').toUpperCase();
    const t0 = Date.now() * 1000 - 60 * S;
    const line = (i: number, extra = ''): string => ndjson(symbol, t0 + i * 1000).replace('"type"', `${extra}"type"`);
    const lines = [
      ...Array.from({ length: 5 }, (_, i) => line(i)),
      line(5, `"pad":"${'x'.repeat(1_200_000)}",`),
      ...Array.from({ length: 5 }, (_, i) => line(6 + i)),
    ];
    const file = tempFile(`${symbol}.ndjson`, `${lines.join('\n')}\n`);
    const result = await replayFile(t.kafka, t.codec, { file, format: 'tickflow-ndjson', speed: { kind: 'max' } });
    expect([result.published, result.deadLetters, result.completed]).toEqual([10, 1, true]);
    await waitFor(
      'the ten trades',
      async () =>
        seen.filter((x) => x.topic === 'md.trades.v1' && x.message.key?.toString() === `SYN:${symbol}`).length === 10,
      30_000,
      100,
    );
    // An over-long line is not parsed, so its dead letter has no key: found by its origin.
    const origin = `${path.basename(file)}:6`;
    let letter: DeadLetter | undefined;
    await waitFor(
      'the dead letter',
      async () => {
        for (const x of seen.filter((y) => y.topic === 'md.raw.tickflow.v1.dlq')) {
          const decoded = await t.codec.decode<DeadLetter>('md.raw.tickflow.v1.dlq', x.message.value);
          if (decoded.originalHeaders.origin === origin) letter = decoded;
        }
        return letter !== undefined;
      },
      30_000,
      200,
    );
    const found = letter as DeadLetter;
    expect([found.errorCode, found.stage, found.sourceTopic]).toEqual([
      'LINE_TOO_LONG',
      'replay',
      'md.raw.tickflow.v1',
    ]);
    expect(found.originalValue?.length).toBe(64 * 1024);
    expect(found.errorMessage).toMatch(new RegExp(`${origin} is 1200\\d{3} bytes long`));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 60_000);

  it('replay: an interrupted replay continues where Kafka acknowledged, publishing every line once', async () => {
    const symbol = unique('RESUME').toUpperCase();
    const t0 = Date.now() * 1000 - 600 * S;
    const lines = Array.from({ length: 3000 }, (_, i) => ndjson(symbol, t0 + i * 100_000));
    const file = tempFile(`${symbol}.ndjson`, `${lines.join('\n')}\n`);
    // Paced at 1,000 lines a second (100 ms of exchange time each, 100x), stopped after a second.
    const stop = new AbortController();
    const first = replayFile(t.kafka, t.codec, {
      file,
      format: 'tickflow-ndjson',
      speed: { kind: 'factor', factor: 100 },
      signal: stop.signal,
    });
    await sleep(1200);
    stop.abort();
    const interrupted = await first;
    expect(interrupted.completed).toBe(false);
    expect(interrupted.published).toBeGreaterThan(0);
    expect(interrupted.published).toBeLessThan(3000);
    const rest = await replayFile(t.kafka, t.codec, { file, format: 'tickflow-ndjson', speed: { kind: 'max' } });
    expect(rest.resumedAfterLine).toBe(interrupted.published);
    expect(interrupted.published + rest.published).toBe(3000);
    expect(rest.completed).toBe(true);
    // Downstream every line arrived once: 3,000 trades, no duplicate or out-of-order finding.
    const id = `SYN:${symbol}`;
    await waitFor(
      'the 3,000 trades',
      async () => seen.filter((x) => x.topic === 'md.trades.v1' && x.message.key?.toString() === id).length >= 3000,
      60_000,
      200,
    );
    await sleep(1000);
    expect(seen.filter((x) => x.topic === 'md.trades.v1' && x.message.key?.toString() === id)).toHaveLength(3000);
    expect(seen.filter((x) => x.topic === 'md.quality.v1' && x.message.key?.toString() === id)).toHaveLength(0);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 120_000);
});
