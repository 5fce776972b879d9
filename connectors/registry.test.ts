import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../pipelines/runtime/codec';
import { parseConfig } from '../pipelines/runtime/config';
import { TickflowError } from '../pipelines/runtime/errors';
import { SECRET_SETTINGS } from '../pipelines/runtime/settings';
import { MARKET_DEFAULTS } from './synthetic/market';
import { marketOf } from './synthetic/publish';
import { FEEDS, FILE_REPLAY_FEED, SYNTHETIC_FEED } from './registry';

const NO_SERVERS = { kafka: {} as Kafka, codec: {} as AvroCodec, secrets: {} };

describe('feed registry', () => {
  it('registers every feed with a description and a schema whose defaults parse', () => {
    expect(Object.keys(FEEDS)).toEqual(['binance', 'alphavantage', 'synthetic', 'file-replay']);
    for (const [name, feed] of Object.entries(FEEDS)) {
      expect(feed.description.length).toBeGreaterThan(10);
      expect(() => parseConfig(name, feed.config, {})).not.toThrow();
    }
  });

  it('gives each live feed flags that set its own settings, and secrets that are never settings', () => {
    for (const feed of Object.values(FEEDS)) {
      if (feed.kind !== 'live') continue;
      expect(feed.healthLog.everyMs).toBeGreaterThan(0);
      for (const [flag, f] of Object.entries(feed.flags)) {
        expect(Object.keys(feed.config)).toContain(f.setting);
        // A flag that may be left out accepts its setting's default.
        if (!f.required) expect(() => f.check?.(feed.config[f.setting].default, flag)).not.toThrow();
      }
      for (const secret of feed.secrets) {
        expect(SECRET_SETTINGS.has(secret.setting)).toBe(true);
        expect(Object.keys(feed.config).map((k) => k.toLowerCase())).not.toContain(secret.setting.toLowerCase());
      }
    }
  });

  it('checks live feed flags with messages that name the flag and the fix', () => {
    const binance = FEEDS.binance.kind === 'live' ? FEEDS.binance : undefined;
    const alphavantage = FEEDS.alphavantage.kind === 'live' ? FEEDS.alphavantage : undefined;
    expect(() => binance?.flags.depth.check?.(501, 'depth')).toThrow(
      '--depth 501 is more levels than a published book may hold (500)',
    );
    expect(() => binance?.flags.symbols.check?.(['btcusdt', 'ETH'], 'symbols')).toThrow(
      '--symbols: ETH not lower-case Binance symbols',
    );
    expect(() => alphavantage?.flags.pairs.check?.(['USD/JPY', 'eur/usd'], 'pairs')).toThrow('--pairs: eur/usd');
    expect(alphavantage?.flags.pairs.required).toBe(true);
    expect(alphavantage?.secrets.map((s) => s.setting)).toEqual(['ALPHAVANTAGE_API_KEY']);
  });

  it('runs a file replay as a finite feed: done settles with its outcome, stop before start waits for nothing', async () => {
    const config = parseConfig('file-replay', FILE_REPLAY_FEED.config, {
      file: '/nonexistent/trades.csv',
      format: 'tardis-trades',
    });
    const idle = await FILE_REPLAY_FEED.create(config, NO_SERVERS);
    await idle.stop();
    expect(idle.health()).toEqual({ state: 'ready', published: 0 });
    const feed = await FILE_REPLAY_FEED.create(config, NO_SERVERS);
    expect(feed.topic).toBe('md.raw.tardis.v1');
    feed.start();
    await expect(feed.done).rejects.toThrow(/no file at \/nonexistent\/trades.csv/);
    expect(feed.health().state).toBe('failed');
  });

  it('refuses what a finite feed cannot run, naming the setting', async () => {
    await expect(
      FILE_REPLAY_FEED.create(
        parseConfig('file-replay', FILE_REPLAY_FEED.config, { speed: 'fast', format: 'tardis-trades' }),
        NO_SERVERS,
      ),
    ).rejects.toThrow(/--speed 'fast'/);
    const noFormat = FILE_REPLAY_FEED.create(parseConfig('file-replay', FILE_REPLAY_FEED.config, {}), NO_SERVERS);
    await expect(noFormat).rejects.toThrow(TickflowError);
    await expect(noFormat).rejects.toThrow(/unknown format ''/);
    const badStart = SYNTHETIC_FEED.create(
      parseConfig('synthetic', SYNTHETIC_FEED.config, { start: 'yesterday' }),
      NO_SERVERS,
    );
    await expect(badStart).rejects.toThrow(/synthetic: start 'yesterday' is not an ISO 8601 time/);
    expect(() => parseConfig('synthetic', SYNTHETIC_FEED.config, { faults: '0.5' })).toThrow(
      /synthetic.faults: 0.5 is above the maximum 0.1/,
    );
  });

  it('builds the synthetic market from its settings', () => {
    const defaults = marketOf(
      parseConfig('synthetic', SYNTHETIC_FEED.config, {}),
      Date.UTC(2024, 0, 2, 14, 30, 5, 750),
    );
    expect(defaults).toEqual({
      ...MARKET_DEFAULTS,
      startMicros: Date.UTC(2024, 0, 2, 14, 30, 5) * 1000,
      faults: { badPrint: 0, nonPositive: 0, crossed: 0, locked: 0, duplicate: 0, outOfOrder: 0, gap: 0 },
    });
    const set = marketOf(
      parseConfig('synthetic', SYNTHETIC_FEED.config, {
        seed: '7',
        instruments: '2',
        eventsPerSecond: '50',
        faults: '0.05',
        venue: 'SYN-EQ',
        prefix: 'Q',
        start: '2024-01-02T14:30:00Z',
      }),
      0,
    );
    expect(set).toMatchObject({
      seed: 7,
      instruments: 2,
      eventsPerSecond: 50,
      venue: 'SYN-EQ',
      prefix: 'Q',
      startMicros: Date.UTC(2024, 0, 2, 14, 30) * 1000,
    });
    expect(new Set(Object.values(set.faults))).toEqual(new Set([0.05]));
  });
});
