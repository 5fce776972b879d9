import { TickflowError } from '../../../pipelines/runtime/errors';
import { main } from '../main';
import { FEED_COMMAND } from './feed';

/** `tickflow feed` checks everything before it connects to Kafka; these cases never get that far. */
describe('tickflow feed', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const name of ['ALPHAVANTAGE_API_KEY', 'ALPHAVANTAGE_API_KEY_FILE', 'TICKFLOW_CONFIG_FILE'])
      delete process.env[name];
  });
  afterAll(() => {
    process.env = saved;
  });

  const failure = async (argv: string[]): Promise<TickflowError> => {
    const error = await main(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TickflowError);
    return error as TickflowError;
  };

  it('takes its usage from the registry', () => {
    expect(FEED_COMMAND.spec.usage).toBe(
      'feed binance [--symbols btcusdt,ethusdt] [--ws URL] [--rest URL] [--depth N] | ' +
        'feed alphavantage --pairs USD/JPY,EUR/USD [--url URL] [--interval-ms N] [--max-requests N] [--window-ms N] ' +
        '(API key: ALPHAVANTAGE_API_KEY or ALPHAVANTAGE_API_KEY_FILE)',
    );
    expect(Object.keys(FEED_COMMAND.spec.flags)).toEqual([
      'symbols',
      'ws',
      'rest',
      'depth',
      'pairs',
      'url',
      'interval-ms',
      'max-requests',
      'window-ms',
    ]);
  });

  it('names an unknown feed and the ones there are', async () => {
    const error = await failure(['feed', 'synthetic']);
    expect(error.message).toBe("unknown feed 'synthetic'");
    expect(error.fix).toBe(
      'use tickflow feed binance or tickflow feed alphavantage (file feeds: tickflow replay; synthetic: tickflow synth)',
    );
  });

  it('checks flags in order, naming the flag', async () => {
    expect((await failure(['feed', 'binance', '--depth', 'x', '--symbols', 'BTC'])).message).toBe(
      '--symbols: BTC not lower-case Binance symbols',
    );
    const depth = await failure(['feed', 'binance', '--depth', '600']);
    expect([depth.code, depth.message, depth.fix]).toEqual([
      'USAGE',
      '--depth 600 is more levels than a published book may hold (500)',
      'use --depth 500 or less',
    ]);
    expect((await failure(['feed', 'binance', '--depth', '0'])).message).toBe(
      "--depth must be a positive whole number, not '0'",
    );
  });

  it('reads the API key only from the environment or the config file, before any flag', async () => {
    const missing = await failure(['feed', 'alphavantage', '--pairs', 'bad']);
    expect(missing.code).toBe('CONFIG');
    expect(missing.message).toBe(
      'tickflow feed alphavantage needs an API key; it reads it only from the environment or the config file (a command-line flag would show it to every user in `ps`)',
    );
    expect(missing.fix).toBe(
      'set ALPHAVANTAGE_API_KEY, or ALPHAVANTAGE_API_KEY_FILE to a file holding the key, or put ALPHAVANTAGE_API_KEY=... into the file named by TICKFLOW_CONFIG_FILE (free keys: https://www.alphavantage.co/support/#api-key)',
    );
    process.env.ALPHAVANTAGE_API_KEY = 'k';
    expect((await failure(['feed', 'alphavantage'])).message).toBe('--pairs: none given');
    expect((await failure(['feed', 'alphavantage', '--pairs', ' , '])).message).toBe('--pairs: none given');
    expect((await failure(['feed', 'alphavantage', '--pairs', 'USD/JPY,eur/usd'])).message).toBe('--pairs: eur/usd');
    expect((await failure(['feed', 'alphavantage', '--pairs', 'USD/JPY', '--window-ms', '1.5'])).message).toBe(
      "--window-ms must be a positive whole number, not '1.5'",
    );
  });
});
