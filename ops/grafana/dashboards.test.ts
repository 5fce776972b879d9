import fs from 'node:fs';
import path from 'node:path';
import { buildDashboards, DASHBOARDS_DIR, dashboardFiles, formatJson, staleDashboards } from './build';
import { expandQuestdbMacros, referencedVariables, sampleByInterval } from './macros';
import { panelQueries } from './panel-queries';
import { PROMETHEUS, QUESTDB } from './queries';

interface Ref {
  type?: string;
  uid?: string;
}
interface PanelJson {
  id?: number;
  title: string;
  type: string;
  datasource?: Ref;
  targets?: { datasource?: Ref }[];
}
interface DashboardJson {
  uid: string;
  title: string;
  panels: PanelJson[];
  templating: { list?: { name: string; type: string; datasource?: Ref; multi?: boolean }[] };
}

const dashboards = buildDashboards() as Record<string, DashboardJson>;
const queries = panelQueries(dashboards);
const provisioning = fs.readFileSync(path.join(__dirname, 'provisioning', 'datasources', 'tickflow.yaml'), 'utf8');

/** `uid -> type` of each provisioned data source (one `- name:` entry each, with `type:` and `uid:` keys). */
function provisionedSources(yaml: string): Map<string, string> {
  const sources = new Map<string, string>();
  for (const entry of yaml.split(/^\s*- name:/m).slice(1)) {
    const type = /^\s+type:\s*(\S+)/m.exec(entry)?.[1];
    const uid = /^\s+uid:\s*(\S+)/m.exec(entry)?.[1];
    if (type && uid) sources.set(uid, type);
  }
  return sources;
}

describe('generated dashboards', () => {
  test('the committed JSON is exactly a fresh build (run `tickflow grafana build` after editing ops/grafana)', () => {
    expect(staleDashboards()).toEqual([]);
    for (const [file, text] of dashboardFiles()) {
      expect(fs.readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')).toBe(text);
    }
    expect(Object.keys(dashboards).sort()).toEqual(['data-quality', 'markets', 'pipeline-health', 'trading']);
  });

  test('each dashboard has a unique uid, and panels with unique ids, a title and at least one query', () => {
    const uids = Object.values(dashboards).map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const [name, d] of Object.entries(dashboards)) {
      expect(d.panels.length).toBeGreaterThanOrEqual(8);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
      expect(d.panels.filter((p) => !p.title || (p.targets ?? []).length === 0).map((p) => `${name}/${p.id}`)).toEqual(
        [],
      );
    }
  });

  test('every QuestDB query filters on the time picker, and SAMPLE BY uses $__sampleByInterval, never $__interval', () => {
    const sql = queries.filter((q) => q.datasource === 'questdb');
    expect(sql.length).toBeGreaterThan(30);
    for (const q of sql) {
      const where = `${q.dashboard} / ${q.panel}`;
      expect(`${where}: ${q.sql}`).toMatch(/\$__timeFilter\(ts\)/);
      expect(`${where}: ${q.sql}`).not.toMatch(/\$__interval/);
      const units = [...q.sql!.matchAll(/SAMPLE BY\s+(\S+)/gi)].map((m) => m[1]);
      expect(units.filter((u) => u !== '$__sampleByInterval').map((u) => `${where}: SAMPLE BY ${u}`)).toEqual([]);
    }
    // The panels that aggregate over time do use it.
    expect(sql.filter((q) => q.sql!.includes('SAMPLE BY $__sampleByInterval')).length).toBeGreaterThanOrEqual(8);
  });

  test('every variable a query or a title uses is defined on its dashboard; QuestDB variables are single-value', () => {
    for (const [name, d] of Object.entries(dashboards)) {
      const defined = new Set((d.templating.list ?? []).map((v) => v.name));
      const texts = [
        ...queries.filter((q) => q.dashboard === name).map((q) => q.sql ?? q.expr ?? ''),
        ...d.panels.map((p) => p.title),
      ];
      const used = new Set(texts.flatMap(referencedVariables));
      expect([...used].filter((v) => !defined.has(v)).map((v) => `${name}: $${v} is not defined`)).toEqual([]);
      // A variable nobody uses is a leftover.
      expect([...defined].filter((v) => !used.has(v)).map((v) => `${name}: $${v} is unused`)).toEqual([]);
      for (const v of d.templating.list ?? []) if (v.datasource?.uid === QUESTDB.uid) expect(v.multi).toBe(false);
    }
    expect(
      referencedVariables(`a = '$instrument' AND \${interval:singlequote} [[strategy]] $__timeFilter(ts)`),
    ).toEqual(['instrument', 'interval', 'strategy']);
  });

  test('every data source a dashboard names is provisioned with the same uid and type', () => {
    const sources = provisionedSources(provisioning);
    expect(sources.get(QUESTDB.uid)).toBe(QUESTDB.type);
    expect(sources.get(PROMETHEUS.uid)).toBe(PROMETHEUS.type);
    expect(sources.get('tickflow-questdb-pg')).toBe('grafana-postgresql-datasource');
    const refs: Ref[] = [];
    for (const d of Object.values(dashboards)) {
      for (const p of d.panels)
        refs.push(...[p.datasource, ...(p.targets ?? []).map((t) => t.datasource)].filter((r): r is Ref => !!r));
      for (const v of d.templating.list ?? []) if (v.datasource) refs.push(v.datasource);
    }
    expect(refs.length).toBeGreaterThan(100);
    const unknown = refs.filter((r) => sources.get(r.uid ?? '') !== r.type).map((r) => `${r.uid} (${r.type})`);
    expect([...new Set(unknown)]).toEqual([]);
  });

  test('panelQueries lists each target and variable with its data source', () => {
    const byDashboard = (name: string, source: string): number =>
      queries.filter((q) => q.dashboard === name && q.datasource === source).length;
    expect(byDashboard('pipeline-health', 'questdb')).toBe(0);
    expect(byDashboard('pipeline-health', 'prometheus')).toBeGreaterThanOrEqual(14);
    expect(byDashboard('markets', 'questdb')).toBe(10); // 8 panels + 2 variables
    expect(queries.filter((q) => q.kind === 'variable').map((q) => `${q.dashboard} ${q.refId}`)).toEqual([
      'markets instrument',
      'markets interval',
      'trading account',
      'trading strategy',
      'pipeline-health stage',
    ]);
    const latency = queries.filter((q) => q.panel === 'Latency from event time').map((q) => q.refId);
    expect(latency).toEqual(['A', 'B', 'C']);
    for (const q of queries) expect((q.sql ?? q.expr ?? '').length).toBeGreaterThan(10);
  });
});

describe('expandQuestdbMacros', () => {
  const context = {
    from: new Date('2024-01-02T00:00:00Z'),
    to: new Date('2024-01-03T00:00:00.5Z'),
    sampleBy: '1m',
    vars: { instrument: 'SYN:A', interval: '1m', accounts: ['a', "b'c"] },
  };

  test('time filter, range bounds, sample interval and variables, as the QuestDB plugin and Grafana write them', () => {
    expect(
      expandQuestdbMacros(
        `SELECT * FROM bars WHERE instrument_id = '$instrument' AND interval = '\${interval}' AND $__timeFilter(ts) SAMPLE BY $__sampleByInterval`,
        context,
      ),
    ).toBe(
      "SELECT * FROM bars WHERE instrument_id = 'SYN:A' AND interval = '1m' AND ts >= cast(1704153600000000 as timestamp) AND ts <= cast(1704240000500000 as timestamp) SAMPLE BY 1m",
    );
    expect(expandQuestdbMacros('$__fromTime $__toTime()', context)).toBe(
      'cast(1704153600000000 as timestamp) cast(1704240000500000 as timestamp)',
    );
    expect(expandQuestdbMacros('IN (${accounts:singlequote}) IN (${accounts:sqlstring}) IN ($accounts)', context)).toBe(
      "IN ('a','b\\'c') IN ('a','b''c') IN ('a','b'c')",
    );
    expect(expandQuestdbMacros("WHERE $__conditionalAll(x = '$instrument', $instrument)", context)).toBe(
      "WHERE x = 'SYN:A'",
    );
    expect(expandQuestdbMacros('SAMPLE BY $__sampleByInterval', { ...context, sampleBy: 90_000 })).toBe(
      'SAMPLE BY 90s',
    );
  });

  test('an unknown variable or an unexpandable macro is an error', () => {
    expect(() => expandQuestdbMacros(`WHERE s = '$strategy'`, context)).toThrow(/\$strategy/);
    expect(() => expandQuestdbMacros('SAMPLE BY $__interval', context)).toThrow(/\$__interval/);
    expect(() => expandQuestdbMacros('x = ${instrument:percentencode}', context)).toThrow(/percentencode/);
  });

  test('$__sampleByInterval follows the plugin: hours, whole days, seconds, else milliseconds as T', () => {
    expect(sampleByInterval(0.2)).toBe('1T');
    expect(sampleByInterval(250)).toBe('250T');
    expect(sampleByInterval(1_500)).toBe('1s');
    expect(sampleByInterval(60_000)).toBe('60s');
    expect(sampleByInterval(3_600_000)).toBe('1h');
    expect(sampleByInterval(5_400_000)).toBe('1h');
    expect(sampleByInterval(48 * 3_600_000)).toBe('2d');
    expect(sampleByInterval(30 * 3_600_000 + 1)).toBe('30h');
  });
});

describe('formatJson', () => {
  test('round-trips and lays out scalars arrays inline only when they fit', () => {
    const value = { a: [1, 2], b: { c: 'x', d: [] as unknown[], e: {} }, f: [{ g: null }], h: Array(40).fill('word') };
    const text = formatJson(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).toContain('"a": [1, 2]');
    expect(text).toContain('"d": []');
    expect(text).toContain('"e": {}');
    expect(text).toMatch(/"h": \[\n {4}"word",\n/);
  });
});
