import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TickflowError } from '../runtime/errors';
import { parseConfig } from '../runtime/config';
import { RISK_CONFIG, loadRiskConfig, parseRiskConfig } from './risk-config';
import RISK_DEFAULT from './risk.default.json';

function configError(doc: unknown): TickflowError {
  try {
    parseRiskConfig(doc);
  } catch (error) {
    if (error instanceof TickflowError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('risk config', () => {
  it('ships a default with the paper account and both day-trading regimes', () => {
    const rules = loadRiskConfig(parseConfig('risk', RISK_CONFIG, {}));
    const account = rules.account('paper-1');
    expect([account?.startingCash.toFixed(), account?.margin, account?.maxOrderNotional?.toFixed()]).toEqual([
      '100000',
      true,
      '10000',
    ]);
    expect(rules.account('someone')).toBeUndefined();
    expect(rules.regimeAt('2026-06-03').rule).toBe('PATTERN_DAY_TRADER');
    expect(rules.regimeAt('2026-06-04').rule).toBe('INTRADAY_MARGIN');
    // tick from the instrument reference, lot from the file
    const btc = rules.instrument('paper-1', 'BINANCE-FUT:BTCUSDT');
    expect([btc.tickSize?.toFixed(), btc.lotSize.toFixed(), btc.maxOrderQuantity?.toFixed()]).toEqual([
      '0.01',
      '0.001',
      '1',
    ]);
    expect(rules.instrument('paper-1', 'TRUEFX:USD/JPY').tickSize?.toFixed()).toBe('0.001');
  });

  it('layers defaults < account < instrument < account instrument', () => {
    const rules = parseRiskConfig({
      defaults: { maxOrderQuantity: '10' },
      accounts: { a: { maxOrderQuantity: '20', instruments: { 'X:B': { maxOrderQuantity: '40' } } }, b: {} },
      instruments: { 'X:A': { maxOrderQuantity: '30' }, 'X:B': { maxOrderQuantity: '35' } },
    });
    const q = (account: string, id: string): string | undefined =>
      rules.instrument(account, id).maxOrderQuantity?.toFixed();
    expect([q('b', 'X:Z'), q('a', 'X:Z'), q('a', 'X:A'), q('a', 'X:B'), q('b', 'X:B')]).toEqual([
      '10',
      '20',
      '30',
      '40',
      '35',
    ]);
  });

  it.each([
    [
      { accounts: { 'paper-1': { maxOrderNotional: 'lots' } } },
      "risk config accounts.paper-1.maxOrderNotional: 'lots' is not a decimal number",
    ],
    [
      { accounts: { 'paper-1': { maxOrderNotional: 5000 } } },
      'risk config accounts.paper-1.maxOrderNotional: 5000 is not a decimal string',
    ],
    [
      { accounts: { 'paper-1': { maxOrderNotinal: '1' } } },
      'risk config accounts.paper-1.maxOrderNotinal: is not a setting',
    ],
    [{ accounts: { a: {} }, defaults: { varConfidence: 1 } }, 'risk config defaults.varConfidence: 1 is out of range'],
    [
      { accounts: { a: {} }, instruments: { 'X:A': { lotSize: '0' } } },
      'risk config instruments.X:A.lotSize: 0 is not above 0',
    ],
    [
      { accounts: { a: { breakerAction: 'PANIC' } } },
      'risk config accounts.a.breakerAction: "PANIC" is not one of REDUCING, HALTED',
    ],
    [{ accounts: {} }, 'risk config accounts: is empty while strictAccounts is true'],
    [
      {
        accounts: { a: {} },
        dayTrading: {
          regimes: [
            { from: '2026-06-04', rule: 'NONE' },
            { from: '2001-01-01', rule: 'NONE' },
          ],
        },
      },
      'risk config dayTrading.regimes[1].from: 2001-01-01 is not after 2026-06-04',
    ],
    [
      { accounts: { a: {} }, dayTrading: { regimes: [{ from: 'June', rule: 'NONE' }] } },
      'risk config dayTrading.regimes[0].from: "June" is not a date',
    ],
  ])('rejects %j naming the setting', (doc, message) => {
    const error = configError(doc);
    expect([error.code, error.message]).toEqual(['CONFIG', message]);
    expect(error.fix).toBeTruthy();
  });

  it('reads the file named by configFile once, with CONFIG errors for a missing or broken file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'risk-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ ...RISK_DEFAULT, accounts: { other: { startingCash: '5' } } }));
    expect(loadRiskConfig({ configFile: good }).account('other')?.startingCash.toFixed()).toBe('5');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ nope');
    expect(() => loadRiskConfig({ configFile: broken })).toThrow(/is not JSON/);
    expect(() => loadRiskConfig({ configFile: join(dir, 'missing.json') })).toThrow(/cannot read/);
  });
});
