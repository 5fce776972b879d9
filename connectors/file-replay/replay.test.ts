import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, Message, TopicMessages } from 'kafkajs';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import type { DeadLetter, RawRecord } from '../../schemas/types.generated';
import { TickflowError } from '../../pipelines/runtime/errors';
import type { CheckpointKey, FileLine } from './replay';
import {
  checkpointPath,
  deleteCheckpoint,
  deleteOutdatedCheckpoints,
  readCheckpoint,
  readLines,
  replayFile,
  writeCheckpoint,
} from './replay';

/** Everything the reader yields for `chunks`, with texts or (too long) lengths and head sizes. */
async function lines(chunks: (string | Buffer)[], maxLineBytes: number, headBytes?: number): Promise<FileLine[]> {
  const out: FileLine[] = [];
  for await (const line of readLines(chunks, { maxLineBytes, headBytes })) out.push(line);
  return out;
}

const texts = (found: FileLine[]): (string | { tooLong: number })[] =>
  found.map((l) => (l.kind === 'line' ? l.text : { tooLong: l.bytes }));

/** Every byte its own chunk: any character, CR or LF split from its neighbours. */
const bytewise = (text: string): Buffer[] => [...Buffer.from(text, 'utf8')].map((b) => Buffer.from([b]));

describe('readLines', () => {
  it('splits at LF, drops the CR of CRLF, keeps empty lines, and reads a last line without LF', async () => {
    expect(texts(await lines(['a,b\r\nc\r\n'], 100))).toEqual(['a,b', 'c']);
    expect(texts(await lines(['x\ny'], 100))).toEqual(['x', 'y']);
    expect(texts(await lines(['a\n\n\r\nb\n'], 100))).toEqual(['a', '', '', 'b']);
    expect(texts(await lines(['a\n', '\n'], 100))).toEqual(['a', '']);
    expect(texts(await lines([''], 100))).toEqual([]);
    expect(texts(await lines(['lone\r'], 100))).toEqual(['lone']);
  });

  it('reads the same lines whatever the chunking, multi-byte characters and CRLF split included', async () => {
    const text = 'price €1,2\r\n𝄞 clef,ü\n\nend without newline ✓';
    const want = ['price €1,2', '𝄞 clef,ü', '', 'end without newline ✓'];
    expect(texts(await lines([text], 100))).toEqual(want);
    expect(texts(await lines(bytewise(text), 100))).toEqual(want);
    for (let cut = 1; cut < Buffer.byteLength(text); cut++) {
      const bytes = Buffer.from(text, 'utf8');
      expect(texts(await lines([bytes.subarray(0, cut), bytes.subarray(cut)], 100))).toEqual(want);
    }
  });

  it('passes a line of exactly the limit (with LF or CRLF) and turns one byte more into too-long', async () => {
    const ten = 'x'.repeat(10);
    expect(texts(await lines([`${ten}\n`], 10))).toEqual([ten]);
    expect(texts(await lines([`${ten}\r\n`], 10))).toEqual([ten]);
    expect(texts(await lines(bytewise(`${ten}\r\n`), 10))).toEqual([ten]);
    expect(texts(await lines([ten], 10))).toEqual([ten]);
    expect(texts(await lines([`${ten}y\nok\n`], 10))).toEqual([{ tooLong: 11 }, 'ok']);
    expect(texts(await lines(bytewise(`${ten}y\r\nok`), 10))).toEqual([{ tooLong: 11 }, 'ok']);
    // A CR inside the line is content: 12 bytes.
    expect(texts(await lines([`${ten}\ry\nok`], 10))).toEqual([{ tooLong: 12 }, 'ok']);
    // A multi-byte character counts in bytes: 4 x '€' is 12 bytes.
    expect(texts(await lines(['€€€\n€€€€\n'], 10))).toEqual(['€€€', { tooLong: 12 }]);
  });

  it('keeps the first bytes of a too-long line and counts where each line ends', async () => {
    const found = await lines(['abcdefghijkl\r\n', 'mn\n', 'op'], 10, 4);
    expect(found).toEqual([
      { kind: 'too-long', lineNo: 1, bytes: 12, head: Buffer.from('abcd'), endOffset: 14 },
      { kind: 'line', lineNo: 2, text: 'mn', endOffset: 17 },
      { kind: 'line', lineNo: 3, text: 'op', endOffset: 19 },
    ]);
  });

  it('reads past a 50 MB line without a newline, holding only its head', async () => {
    const chunkBytes = 64 * 1024;
    const total = 50 * 1000 * 1000;
    let chunks = 0;
    async function* fifty(): AsyncGenerator<Buffer> {
      yield Buffer.from('first\n');
      for (let sent = 0; sent < total; sent += chunkBytes) {
        chunks += 1;
        // A fresh chunk each time, as a file stream gives: a reader that kept them would keep 50 MB.
        yield Buffer.alloc(Math.min(chunkBytes, total - sent), 0x61 + (chunks % 26));
      }
    }
    const found: FileLine[] = [];
    for await (const line of readLines(fifty(), { maxLineBytes: 900_000 })) found.push(line);
    expect(found).toHaveLength(2);
    const long = found[1];
    if (long.kind !== 'too-long') throw new Error('expected too-long');
    expect([long.lineNo, long.bytes, long.head.length, long.endOffset]).toEqual([2, total, 64 * 1024, total + 6]);
    expect(long.head.subarray(0, 3).toString()).toBe('bbb');
  });
});

describe('replay checkpoints', () => {
  let dir: string;
  const key: CheckpointKey = {
    file: '/data/trades.csv',
    size: 1000,
    mtimeMs: 1700000000000.5,
    format: 'tardis-trades',
    topic: 'md.raw.tardis.v1',
    brokers: ['b:9094', 'a:9092'],
  };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-checkpoints-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('are keyed by path, size, mtime, format, topic and brokers (in any order)', () => {
    const at = checkpointPath(key, dir);
    expect(path.basename(at)).toMatch(/^trades\.csv\.[0-9a-f]{24}\.json$/);
    expect(checkpointPath({ ...key, brokers: ['a:9092', 'b:9094'] }, dir)).toBe(at);
    const others: CheckpointKey[] = [
      { ...key, file: '/other/trades.csv' },
      { ...key, size: 1001 },
      { ...key, mtimeMs: 1700000000001 },
      { ...key, format: 'tardis-quotes' },
      { ...key, topic: 'md.raw.tickflow.v1' },
      { ...key, brokers: ['a:9092'] },
    ];
    expect(new Set([at, ...others.map((k) => checkpointPath(k, dir))]).size).toBe(others.length + 1);
  });

  it('round-trip, and are gone once deleted', () => {
    expect(readCheckpoint(key, dir)).toBeUndefined();
    writeCheckpoint({ ...key, line: 42, updatedAt: '2024-01-01T00:00:00.000Z' }, dir);
    expect(readCheckpoint(key, dir)).toMatchObject({ line: 42, file: key.file });
    expect(readCheckpoint({ ...key, size: 999 }, dir)).toBeUndefined();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    deleteCheckpoint(key, dir);
    expect(readCheckpoint(key, dir)).toBeUndefined();
  });

  it('say how to get past a damaged one', () => {
    fs.writeFileSync(checkpointPath(key, dir), '{"line": ');
    let error: unknown;
    try {
      readCheckpoint(key, dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TickflowError);
    expect((error as TickflowError).fix).toMatch(/--restart/);
  });

  it('of an earlier version of the file are dropped; those of other targets stay', () => {
    writeCheckpoint({ ...key, size: 500, line: 1, updatedAt: '' }, dir);
    writeCheckpoint({ ...key, topic: 'md.raw.tickflow.v1', line: 2, updatedAt: '' }, dir);
    writeCheckpoint({ ...key, file: '/other.csv', size: 500, line: 3, updatedAt: '' }, dir);
    deleteOutdatedCheckpoints(key, dir);
    expect(readCheckpoint({ ...key, size: 500 }, dir)).toBeUndefined();
    expect(readCheckpoint({ ...key, topic: 'md.raw.tickflow.v1' }, dir)?.line).toBe(2);
    expect(readCheckpoint({ ...key, file: '/other.csv', size: 500 }, dir)?.line).toBe(3);
  });
});

/**
 * replayFile against an in-memory Kafka: sends are recorded (values are the JSON of what was
 * encoded), and a send can be made to fail or to stop the replay.
 */
interface Sent {
  topic: string;
  key: string | null;
  value: { raw?: RawRecord; deadLetter?: DeadLetter & { originalValue: { data: number[] } } };
}

function fakeKafka(onSend?: (call: number) => void): { kafka: Kafka; codec: AvroCodec; sends: Sent[][] } {
  const sends: Sent[][] = [];
  let calls = 0;
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async ({ topicMessages }: { topicMessages: TopicMessages[] }) => {
      calls += 1;
      onSend?.(calls);
      const sent = (topic: string, m: Message): Sent => {
        const value = JSON.parse(String(m.value)) as Sent['value'];
        return { topic, key: m.key ? String(m.key) : null, value };
      };
      sends.push(topicMessages.flatMap((t) => t.messages.map((m) => sent(t.topic, m))));
    },
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  const codec = {
    prepare: async () => undefined,
    encode: async (topic: string, value: unknown) =>
      Buffer.from(JSON.stringify(topic.endsWith('.dlq') ? { deadLetter: value } : { raw: value })),
  } as unknown as AvroCodec;
  return { kafka, codec, sends };
}

const HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
const row = (i: number): string =>
  `binance-futures,BTCUSDT,${1582329600000000 + i},${1582329600000100 + i},${i},buy,9700.5,0.01`;

describe('replayFile without Kafka', () => {
  let home: string;
  let previousHome: string | undefined;
  beforeEach(() => {
    previousHome = process.env.TICKFLOW_HOME;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-home-'));
    process.env.TICKFLOW_HOME = home;
  });
  afterEach(() => {
    if (previousHome === undefined) delete process.env.TICKFLOW_HOME;
    else process.env.TICKFLOW_HOME = previousHome;
    fs.rmSync(home, { recursive: true, force: true });
  });

  function file(name: string, content: string): string {
    const at = path.join(home, name);
    fs.writeFileSync(at, content);
    return at;
  }

  const brokers = ['127.0.0.1:9092'];
  type Extra = Partial<Parameters<typeof replayFile>[2]>;
  const replay = (kafka: Kafka, codec: AvroCodec, at: string, extra: Extra = {}): ReturnType<typeof replayFile> =>
    replayFile(kafka, codec, { file: at, format: 'tardis-trades', speed: { kind: 'max' }, brokers, ...extra });
  const sequences = (sends: Sent[][]): number[] =>
    sends.flat().flatMap((m) => (m.value.raw ? [m.value.raw.sequence] : []));
  const checkpoints = (): string[] => {
    const dir = path.join(home, 'replay');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };

  it('continues an interrupted replay after its last acknowledged line, then forgets it', async () => {
    const at = file('trades.csv', [HEADER, ...Array.from({ length: 1600 }, (_, i) => row(i + 1))].join('\n') + '\n');
    // Kafka fails on the third send: two batches of 500 (lines 2..1001) were acknowledged.
    const broken = fakeKafka((call) => {
      if (call === 3) throw new Error('KafkaJSConnectionError: Connection error');
    });
    await expect(replay(broken.kafka, broken.codec, at)).rejects.toThrow(/Connection error/);
    expect(sequences(broken.sends)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 2));
    expect(checkpoints()).toHaveLength(1);

    const rerun = fakeKafka();
    const resumed = await replay(rerun.kafka, rerun.codec, at);
    expect(sequences(rerun.sends)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1002));
    const { published, resumedAfterLine, completed, lines: total } = resumed;
    expect([published, resumedAfterLine, completed, total]).toEqual([600, 1001, true, 1600]);
    expect(checkpoints()).toEqual([]);

    const again = fakeKafka();
    expect((await replay(again.kafka, again.codec, at)).published).toBe(1600);

    // Interrupted again, then --restart: from the top.
    const stopped = fakeKafka((call) => {
      if (call === 2) throw new Error('broker down');
    });
    await expect(replay(stopped.kafka, stopped.codec, at)).rejects.toThrow(/broker down/);
    const restarted = fakeKafka();
    const whole = await replay(restarted.kafka, restarted.codec, at, { restart: true });
    expect([whole.published, whole.resumedAfterLine, sequences(restarted.sends)[0]]).toEqual([1600, null, 2]);
    expect(checkpoints()).toEqual([]);
  });

  it('stops on its signal after publishing what it read, and keeps the checkpoint for the rerun', async () => {
    const at = file('trades.csv', [HEADER, ...Array.from({ length: 1200 }, (_, i) => row(i + 1))].join('\n'));
    const controller = new AbortController();
    const first = fakeKafka((call) => {
      if (call === 1) controller.abort();
    });
    const partial = await replay(first.kafka, first.codec, at, { signal: controller.signal });
    expect([partial.published, partial.completed]).toEqual([500, false]);
    expect(checkpoints()).toHaveLength(1);
    const rest = fakeKafka();
    const resumed = await replay(rest.kafka, rest.codec, at);
    const { published, resumedAfterLine, completed } = resumed;
    expect([published, resumedAfterLine, completed, sequences(rest.sends)[0]]).toEqual([700, 501, true, 502]);
  });

  it('sends a line too long for Kafka to the .dlq twin and publishes the rest', async () => {
    const long = `${row(2)},${'z'.repeat(5000)}`;
    const at = file('long.csv', [HEADER, row(1), long, row(3)].join('\r\n'));
    const k = fakeKafka();
    const result = await replay(k.kafka, k.codec, at, { maxLineBytes: 1000 });
    expect([result.published, result.deadLetters, result.lines, result.completed]).toEqual([2, 1, 3, true]);
    expect(sequences(k.sends)).toEqual([2, 4]);
    const letters = k.sends.flat().filter((m) => m.topic === 'md.raw.tardis.v1.dlq');
    expect(letters).toHaveLength(1);
    const letter = letters[0].value.deadLetter as NonNullable<Sent['value']['deadLetter']>;
    const { stage, errorCode, sourceTopic, sourcePartition, sourceOffset, originalKey, originalHeaders } = letter;
    expect([stage, errorCode, sourceTopic, sourcePartition, sourceOffset, originalKey, originalHeaders]).toEqual([
      'replay',
      'LINE_TOO_LONG',
      'md.raw.tardis.v1',
      -1,
      '-1',
      null,
      { origin: 'long.csv:3' },
    ]);
    expect(letter.errorMessage).toContain(`long.csv:3 is ${Buffer.byteLength(long)} bytes long`);
    expect(Buffer.from(letter.originalValue.data).toString()).toBe(long);
  });

  it('keeps the first 64 KiB of an over-long line, and never sends more than about 1 MB at once', async () => {
    const big = (i: number): string => `${row(i)},${'y'.repeat(300_000)}`;
    const huge = `${row(8)},${'w'.repeat(2_000_000)}`;
    const at = file('big.csv', [HEADER, ...Array.from({ length: 7 }, (_, i) => big(i + 1)), huge].join('\n'));
    const k = fakeKafka();
    const result = await replay(k.kafka, k.codec, at);
    expect([result.published, result.deadLetters]).toEqual([7, 1]);
    expect(k.sends.map((s) => s.length)).toEqual([3, 3, 2]);
    const letter = k.sends.flat().find((m) => m.value.deadLetter)?.value.deadLetter;
    expect(letter?.originalValue.data).toHaveLength(64 * 1024);
  });

  it('refuses to run beside a running replay of the same file and topic; resumes one whose process died', async () => {
    const at = file('trades.csv', [HEADER, ...Array.from({ length: 10 }, (_, i) => row(i + 1))].join('\n'));
    const { size, mtimeMs } = fs.statSync(at);
    const key: CheckpointKey = { file: at, size, mtimeMs, format: 'tardis-trades', topic: 'md.raw.tardis.v1', brokers };
    writeCheckpoint({ ...key, line: 4, updatedAt: '', pid: process.ppid });
    const k = fakeKafka();
    const beside = replay(k.kafka, k.codec, at);
    await expect(beside).rejects.toThrow(`trades.csv is being replayed to md.raw.tardis.v1 by process ${process.ppid}`);
    expect(k.sends).toEqual([]);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeCheckpoint({ ...key, line: 4, updatedAt: '', pid: dead });
    const resumed = await replay(k.kafka, k.codec, at);
    expect([resumed.resumedAfterLine, sequences(k.sends)]).toEqual([4, [5, 6, 7, 8, 9, 10, 11]]);
  });

  it('refuses a file whose first line is not the header, even an over-long one', async () => {
    const k = fakeKafka();
    const bad = file('bad.csv', `${'q'.repeat(2000)}\n${row(1)}\n`);
    const refused = replay(k.kafka, k.codec, bad, { maxLineBytes: 1000 });
    await expect(refused).rejects.toThrow(/does not start with the tardis-trades header/);
    expect(k.sends).toEqual([]);
  });
});
