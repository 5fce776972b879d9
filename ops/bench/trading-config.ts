/**
 * A risk config (pipelines/risk/README.md) for benchmarks and tests: every account with ample cash,
 * market orders, whole-unit lots and the limits that would make the outcome depend on timing (marks,
 * rates, losses, value at risk) switched off, so each signal becomes an order. `overrides` is merged
 * into `defaults`.
 */
export function benchRiskConfig(
  accounts: readonly string[],
  _instruments: readonly string[] = [],
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    strictAccounts: true,
    defaults: {
      lotSize: '1',
      startingCash: '10000000',
      margin: true,
      orderType: 'MARKET',
      timeInForce: 'GTC',
      sizingMethod: 'fixed-fraction',
      sizingFraction: '0.001',
      clampToLimits: false,
      maxOrderNotional: null,
      priceCollarFraction: null,
      maxPositionNotional: null,
      maxOpenOrders: null,
      maxSubmitsPerSecond: null,
      maxModifiesPerSecond: null,
      maxGrossExposure: null,
      maxNetExposure: null,
      maxCorrelatedFraction: null,
      maxDailyLoss: null,
      maxDrawdown: null,
      maxVar: null,
      ...overrides,
    },
    accounts: Object.fromEntries(accounts.map((a) => [a, {}])),
    instruments: {},
    dayTrading: { regimes: [{ from: '2000-01-01', rule: 'NONE' }] },
  };
}
