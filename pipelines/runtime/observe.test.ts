import { observe } from './chain';
import { RuntimeMetrics } from './metrics';

describe('domain metrics from the topic catalog', () => {
  test('quality findings count by rule, decisions by verdict, audit by kind; other topics are not observed', () => {
    expect(observe('md.quality.v1', { rule: 'FAILOVER' })).toEqual({ event: 'FAILOVER', state: undefined });
    expect(observe('risk.decisions.v1', { approved: false })?.event).toBe('REJECTED');
    expect(observe('risk.decisions.v1', { approved: true })?.event).toBe('APPROVED');
    expect(observe('audit.v1', { kind: 'BREAKER_TRIPPED' })?.event).toBe('BREAKER_TRIPPED');
    expect(observe('md.trades.v1', { price: 1 })).toBeUndefined();
  });

  test('the trading-state gauge holds 1 for the current state only, per account', async () => {
    const metrics = new RuntimeMetrics();
    metrics.observe('risk', 'pnl.v1', observe('pnl.v1', { account: 'a1', tradingState: 'ACTIVE' })!);
    metrics.observe('risk', 'pnl.v1', observe('pnl.v1', { account: 'a1', tradingState: 'HALTED' })!);
    metrics.observe('risk', 'audit.v1', observe('audit.v1', { kind: 'HALT' })!);
    metrics.observe('risk', 'audit.v1', observe('audit.v1', { kind: 'HALT' })!);
    const text = await metrics.registry.metrics();
    expect(text).toContain('tickflow_trading_state{account="a1",state="HALTED"} 1');
    expect(text).toContain('tickflow_trading_state{account="a1",state="ACTIVE"} 0');
    expect(text).toContain('tickflow_trading_state{account="a1",state="REDUCING"} 0');
    expect(text).toContain('tickflow_stage_events_total{stage="risk",topic="audit.v1",event="HALT"} 2');
  });

  test("a partition that moves away takes its accounts' state gauges with it", async () => {
    const metrics = new RuntimeMetrics();
    metrics.observe('risk', 'pnl.v1', observe('pnl.v1', { account: 'a1', tradingState: 'HALTED' })!, 'risk#0');
    metrics.observe('risk', 'pnl.v1', observe('pnl.v1', { account: 'a2', tradingState: 'ACTIVE' })!, 'risk#1');
    metrics.forgetPartition('risk', 0);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('account="a1"');
    expect(text).toContain('tickflow_trading_state{account="a2",state="ACTIVE"} 1');
  });
});
