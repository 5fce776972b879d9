import { BINANCE_DEFAULTS, BinanceFeed } from '../../connectors/binance/feed';
import { rawPublisher } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { Decimal } from '../../schemas/decimal';
import { FakeBinanceServer } from '../support/fake-binance';
import { unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';
import { waitFor } from '../support/runtime-harness';

/**
 * The Binance live feed against a local server speaking Binance's documented stream and REST
 * formats, which replays recorded trades with a moving book, drops the connection once, skips one
 * depth update id and one trade id. Through the real Kafka, normalize and the sink: the feed
 * reconnects and resubscribes by itself, rebuilds its book after the depth gap and after the
 * reconnect, every trade sent is stored exactly once, the skipped trade id is a SEQUENCE_GAP
 * finding, and the newest book row equals the server's true book.
 */
describe('Binance websocket feed: reconnect, resync, sequence checks (local server, real stack)', () => {
  let t: TestPipeline;
  let server: FakeBinanceServer;
  let feed: BinanceFeed;
  const symbol = `${unique('T').toUpperCase()}USDT`;
  const instrumentId = `BINANCE:${symbol}`;

  beforeAll(async () => {
    t = await startTestPipeline('test-binance', ['normalize', 'sink-questdb']);
    server = new FakeBinanceServer({
      symbol,
      trades: 1500,
      framesPerTick: 20,
      tickMs: 5,
      dropAfterFrames: 1200,
      skipDepthUpdateAt: 1000,
      skipTradeIdAt: 300,
    });
    const urls = await server.listen();
    const publisher = await rawPublisher(t.kafka, t.codec, 'md.raw.binance.v1');
    feed = new BinanceFeed({
      ...BINANCE_DEFAULTS,
      ...urls,
      symbols: [symbol.toLowerCase()],
      reconnectMinMs: 100,
      publish: (records) => publisher.publish(records),
    });
    feed.start();
    await waitFor('the server to send every frame', async () => server.done, 120_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await feed.stop();
    await publisher.close();
    await t.drain();
    await waitForWalApplied(['trades', 'book', 'quality_events']);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await t.stop();
  });

  it('reconnected once by itself and rebuilt its book after the gap and after the reconnect', () => {
    const health = feed.health();
    expect([server.connections, health.connects, health.disconnects >= 1, health.gaps]).toEqual([2, 2, true, 1]);
    // A snapshot on each connect, and one for the gap.
    expect(health.resyncs).toBe(3);
  });

  it('read every frame, got each snapshot at the first try, lost no update and no connection to silence', () => {
    const health = feed.health();
    const faults = [health.malformed, health.snapshotFailures, health.bannedUntil, health.bufferDropped];
    expect([...faults, health.silences, health.handshakeTimeouts]).toEqual([0, 0, null, 0, 0, 0]);
    expect([health.queued, health.paused]).toEqual([0, false]);
  });

  it('stores every trade the server sent, exactly once', async () => {
    const result = await sql(`SELECT trade_id FROM trades WHERE instrument_id = '${instrumentId}'`);
    expect(result.dataset.map((r) => Number(r[0])).sort((a, b) => a - b)).toEqual(
      [...server.sentTradeIds].sort((a, b) => a - b),
    );
    expect(server.sentTradeIds).toHaveLength(1500);
  });

  it('reports the skipped trade id as a sequence gap', async () => {
    const result = await sql(
      `SELECT rule, detail FROM quality_events WHERE instrument_id = '${instrumentId}' AND kind = 'trade'`,
    );
    expect(result.dataset).toEqual([['SEQUENCE_GAP', 'sequence jumped from 300 to 302: 1 record missing (301..301)']]);
  });

  it("ends with the server's true book", async () => {
    const result = await sql(
      `SELECT bids, asks FROM book WHERE instrument_id = '${instrumentId}' ORDER BY ts DESC, ts_recv DESC LIMIT 1`,
    );
    const [bids, asks] = result.dataset[0] as [string, string];
    const truth = server.finalTop(25);
    const plain = (levels: [string, string][]): string[][] =>
      levels.map(([p, q]) => [new Decimal(p).toFixed(), new Decimal(q).toFixed()]);
    expect(plain(JSON.parse(bids) as [string, string][])).toEqual(plain(truth.bids));
    expect(plain(JSON.parse(asks) as [string, string][])).toEqual(plain(truth.asks));
  });
});
