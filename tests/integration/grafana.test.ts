import { sql } from '../../connectors/questdb/sql';
import { buildDashboards } from '../../ops/grafana/build';
import { expandQuestdbMacros, sampleByInterval } from '../../ops/grafana/macros';
import type { PanelQuery } from '../../ops/grafana/panel-queries';
import { panelQueries } from '../../ops/grafana/panel-queries';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { ensureDemoData } from '../support/demo-data';

/**
 * The dashboards against the real stack: every QuestDB query of every panel and variable, expanded as Grafana and
 * the QuestDB plugin would (variables set to values the variable queries themselves offer, a time range covering
 * the demo run), must run and return rows; every metric and label a PromQL expression names must be one a tickflow
 * process serves on /metrics.
 */

const dashboards = buildDashboards();
const queries = panelQueries(dashboards);
const sqlQueries = queries.filter((q) => q.datasource === 'questdb');
const promQueries = queries.filter((q) => q.datasource === 'prometheus');

/**
 * Panels that show rare events (halts, stale feeds, failovers): a demo run may hold none. Each must return rows
 * when its table holds such an event for the picked values and range, and none otherwise.
 */
const EVENT_PANELS: Record<string, string> = {
  'trading / Halts, resumes and breakers': `SELECT count() FROM audit WHERE (account = '$account' OR account = '*')
    AND kind IN ('HALT', 'RESUME', 'BREAKER_TRIPPED', 'BREAKER_RESET') AND $__timeFilter(ts)`,
  'data-quality / Stale feeds and resumptions': `SELECT count() FROM quality_events
    WHERE rule IN ('STALE_FEED', 'FEED_RESUMED') AND $__timeFilter(ts)`,
  'data-quality / Failovers and failbacks': `SELECT count() FROM quality_events
    WHERE rule IN ('FAILOVER', 'FAILBACK') AND $__timeFilter(ts)`,
};

/** The tables the dashboards read; their time span is the range the queries run over. */
const TABLES = ['trades', 'bars', 'features', 'signals', 'quality_events', 'heartbeats', 'risk_decisions'].concat([
  'orders',
  'fills',
  'positions',
  'pnl',
  'audit',
]);

let from: Date;
let to: Date;
let sampleBy: string;
const vars: Record<string, string> = {};

async function rows(query: string): Promise<unknown[][]> {
  return (await sql(query)).dataset;
}

function expand(query: string): string {
  return expandQuestdbMacros(query, { from, to, sampleBy, vars });
}

/** The options a QuestDB variable offers right now (its query, expanded with the values picked so far). */
async function options(dashboard: string, name: string): Promise<string[]> {
  const variable = sqlQueries.find((q) => q.dashboard === dashboard && q.kind === 'variable' && q.refId === name);
  if (!variable) throw new Error(`${dashboard} has no QuestDB variable ${name}`);
  return (await rows(expand(variable.sql!))).map((r) => String(r[0]));
}

async function distinct(query: string): Promise<Set<string>> {
  return new Set((await rows(expand(query))).map((r) => String(r[0])));
}

/** The first option (preferred first) that has data in every table the dashboard reads for it. */
function pick(choices: string[], needs: Set<string>[], preferred: string[] = []): string {
  const fit = choices.filter((c) => needs.every((set) => set.has(c)));
  const chosen = preferred.find((p) => fit.includes(p)) ?? fit[0];
  if (chosen === undefined) throw new Error(`no value among ${choices.length} options has data for every panel`);
  return chosen;
}

async function pickValues(): Promise<void> {
  const instruments = await options('markets', 'instrument');
  vars.instrument = pick(
    instruments,
    await Promise.all([
      distinct(`SELECT DISTINCT instrument_id FROM bars WHERE interval = '1m' AND $__timeFilter(ts)`),
      distinct(`SELECT DISTINCT instrument_id FROM trades WHERE $__timeFilter(ts)`),
      ...["feature LIKE 'vpin%'", "feature = 'spread'", "feature = 'imbalance_l1'", "feature = 'microprice'"].map((f) =>
        distinct(`SELECT DISTINCT instrument_id FROM features WHERE ${f} AND $__timeFilter(ts)`),
      ),
    ]),
    ['BINANCE-FUT:BTCUSDT'],
  );
  const intervals = await options('markets', 'interval');
  vars.interval = intervals.includes('1m') ? '1m' : intervals[0];

  // An account with rows in every trading table, halts or breakers included when one has them.
  const accounts = await options('trading', 'account');
  const perTable = await Promise.all(
    ['pnl', 'positions', 'fills', 'orders', 'risk_decisions'].map((t) =>
      distinct(`SELECT DISTINCT account FROM ${t} WHERE $__timeFilter(ts)`),
    ),
  );
  const halted = await distinct(
    `SELECT DISTINCT account FROM audit WHERE kind IN ('HALT', 'BREAKER_TRIPPED') AND $__timeFilter(ts)`,
  );
  const complete = accounts.filter((a) => perTable.every((set) => set.has(a)));
  vars.account = pick(
    accounts,
    perTable,
    complete.filter((a) => halted.has(a)),
  );

  const strategies = await options('trading', 'strategy');
  vars.strategy = pick(strategies, [await distinct(`SELECT DISTINCT strategy FROM signals WHERE $__timeFilter(ts)`)]);
}

beforeAll(async () => {
  await ensureDemoData();
  // The range Grafana's picker would need to show the whole demo run; Grafana's interval for it (about
  // 1000 points across the range) gives $__sampleByInterval.
  const bounds = await Promise.all(TABLES.map((t) => rows(`SELECT min(ts), max(ts) FROM ${t}`)));
  const times = bounds.flatMap((b) => b[0] ?? []).filter((t): t is string => typeof t === 'string');
  from = new Date(Math.min(...times.map((t) => Date.parse(t))));
  to = new Date(Math.max(...times.map((t) => Date.parse(t))) + 1000);
  sampleBy = sampleByInterval((to.getTime() - from.getTime()) / 1000);
  await pickValues();
}, 900_000);

const label = (q: PanelQuery): string => `${q.dashboard} / ${q.panel}${q.refId === 'A' ? '' : ` [${q.refId}]`}`;

describe('QuestDB queries of the dashboards run on the demo data', () => {
  test('the variables got values and the range covers the demo run', () => {
    expect(Object.keys(vars).sort()).toEqual(['account', 'instrument', 'interval', 'strategy']);
    expect(from.getTime()).toBeLessThan(to.getTime());
  });

  test.each(sqlQueries.map((q) => [label(q), q] as const))('%s', async (name, q) => {
    const expanded = expand(q.sql!);
    let result: unknown[][];
    try {
      result = await rows(expanded);
    } catch (error) {
      throw new Error(`${name} failed with ${JSON.stringify(vars)}: ${(error as Error).message}`);
    }
    const event = EVENT_PANELS[`${q.dashboard} / ${q.panel}`];
    if (event !== undefined) {
      const present = Number((await rows(expand(event)))[0]?.[0] ?? 0);
      expect({ panel: name, rows: result.length > 0 }).toEqual({ panel: name, rows: present > 0 });
    } else {
      expect({ panel: name, values: vars, rows: result.length > 0 }).toEqual({ panel: name, values: vars, rows: true });
    }
  });

  test('the rare-event panels exist under the names this test knows', () => {
    const names = new Set(sqlQueries.map((q) => `${q.dashboard} / ${q.panel}`));
    expect(Object.keys(EVENT_PANELS).filter((p) => !names.has(p))).toEqual([]);
  });
});

interface Served {
  /** Metric family name -> its type and label names. */
  families: Map<string, { type: string; labels: Set<string> }>;
}

let served: Served;

beforeAll(async () => {
  const metrics = new RuntimeMetrics();
  // The text /metrics serves; every family appears with its TYPE line even before its first sample.
  const text = await metrics.registry.metrics();
  served = { families: new Map() };
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const metric = metrics.registry.getSingleMetric(m[1]) as unknown as { labelNames?: readonly string[] } | undefined;
    served.families.set(m[1], { type: m[2], labels: new Set(metric?.labelNames ?? []) });
  }
});

/** The family a series name in PromQL belongs to: itself, or a histogram's _bucket/_sum/_count (summary's too). */
function family(series: string): { name: string; bucket: boolean } | undefined {
  if (served.families.has(series)) return { name: series, bucket: false };
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  const base = m && served.families.get(m[1]);
  if (!m || !base) return undefined;
  if (base.type === 'histogram' || (base.type === 'summary' && m[2] !== 'bucket'))
    return { name: m[1], bucket: m[2] === 'bucket' };
  return undefined;
}

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

describe('PromQL of the dashboards names only what tickflow serves on /metrics', () => {
  test('the runtime serves the families the dashboards rely on, the domain metrics included', () => {
    for (const name of ['tickflow_stage_events_total', 'tickflow_trading_state', 'tickflow_records_in_total']) {
      expect(`${name}: ${served.families.has(name)}`).toBe(`${name}: true`);
    }
    expect([...served.families.get('tickflow_stage_events_total')!.labels].sort()).toEqual(['event', 'stage', 'topic']);
    expect([...served.families.get('tickflow_trading_state')!.labels].sort()).toEqual(['account', 'state']);
  });

  test.each(promQueries.map((q) => [label(q), q] as const))('%s', (name, q) => {
    const expr = q.expr!;
    const series = [...new Set([...expr.matchAll(/\btickflow_\w+/g)].map((m) => m[0]))];
    expect(series.length).toBeGreaterThan(0);
    const unknown = series.filter((s) => family(s) === undefined);
    expect({ panel: name, unknown }).toEqual({ panel: name, unknown: [] });

    const labelsOf = (s: string): string[] => {
      const f = family(s)!;
      return [...served.families.get(f.name)!.labels, ...(f.bucket ? ['le'] : []), ...TARGET_LABELS];
    };
    const wrong: string[] = [];
    // Selectors: each label matcher names a label of its metric.
    for (const m of expr.matchAll(/\b(tickflow_\w+)\s*\{([^}]*)\}/g)) {
      for (const l of m[2].matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g))
        if (!labelsOf(m[1]).includes(l[1])) wrong.push(`${m[1]}{${l[1]}}`);
    }
    // Aggregations and label_values(): each label exists on a metric of the expression.
    const anyLabels = new Set(series.flatMap(labelsOf));
    for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
      for (const l of m[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        if (!anyLabels.has(l)) wrong.push(`by ${l}`);
    }
    for (const m of expr.matchAll(/label_values\(\s*(tickflow_\w+)\s*,\s*(\w+)\s*\)/g))
      if (!labelsOf(m[1]).includes(m[2])) wrong.push(`label_values ${m[2]}`);
    expect({ panel: name, wrong }).toEqual({ panel: name, wrong: [] });
  });

  test('transaction panels use the result values the runtime writes', () => {
    const results = new Set(
      promQueries.flatMap((q) => [...q.expr!.matchAll(/result\s*=~?\s*"([^"]+)"/g)].map((m) => m[1])),
    );
    // pipelines/runtime/stage-tasks.ts counts result="commit" and result="abort".
    expect([...results].filter((r) => !['commit', 'abort'].includes(r))).toEqual([]);
    expect(results.has('abort')).toBe(true);
  });
});
