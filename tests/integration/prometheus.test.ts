import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePromtool } from '../../ops/prometheus/promtool';
import type { YamlValue } from '../../ops/prometheus/yaml-subset';
import { parseYaml } from '../../ops/prometheus/yaml-subset';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { REPO_ROOT } from '../../pipelines/runtime/settings';

/**
 * The Prometheus config and alert rules in ops/prometheus: promtool accepts them, every alert has a
 * unit test that fires it and one that must not, every test depends on its alert's expression, and
 * every metric an expression names is one a tickflow process serves on /metrics.
 * Needs no stack: promtool runs locally (installed under .tickflow/lib/prometheus on first use).
 */
const RELATIVE = 'ops/prometheus';
const DIR = path.join(REPO_ROOT, RELATIVE);
const TEST_FILES = fs
  .readdirSync(path.join(DIR, 'tests'))
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((f) => `${RELATIVE}/tests/${f}`);
const SEVERITIES = ['critical', 'warning'];

type Obj = { [key: string]: YamlValue };

function obj(v: YamlValue | undefined, what: string): Obj {
  if (v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} is not a mapping`);
  return v;
}

function list(v: YamlValue | undefined, what: string): YamlValue[] {
  if (v === undefined || v === '') return [];
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
}

function str(v: YamlValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

function readYaml(relative: string): Obj {
  return obj(parseYaml(fs.readFileSync(path.join(REPO_ROOT, relative), 'utf8'), relative), relative);
}

interface Rule {
  group: string;
  alert?: string;
  record?: string;
  expr: string;
  raw: Obj;
}

const RULES_DOC = readYaml(`${RELATIVE}/alerts.yml`);
const RULES: Rule[] = list(RULES_DOC.groups, 'groups').flatMap((g) => {
  const group = obj(g, 'group');
  return list(group.rules, 'rules').map((r) => {
    const raw = obj(r, 'rule');
    return {
      group: str(group.name),
      alert: raw.alert === undefined ? undefined : str(raw.alert),
      record: raw.record === undefined ? undefined : str(raw.record),
      expr: str(raw.expr),
      raw,
    };
  });
});
const GROUP_NAMES = [...new Set(RULES.map((r) => r.group))];
const ALERTS = RULES.filter((r) => r.alert !== undefined);
const RECORDS = RULES.filter((r) => r.record !== undefined);

interface TestGroup {
  file: string;
  name: string;
  test: Obj;
}

const TEST_DOCS = new Map(TEST_FILES.map((f) => [f, readYaml(f)]));
const TEST_GROUPS: TestGroup[] = [...TEST_DOCS].flatMap(([file, doc]) =>
  list(doc.tests, `${file} tests`).map((t) => ({ file, name: str(obj(t, 'test').name), test: obj(t, 'test') })),
);

let promtoolPath = '';

function promtool(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(promtoolPath, args, { cwd: REPO_ROOT, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Fails with the tool's own output, which says what is wrong far better than "expected 0". */
function expectSuccess(r: { code: number; output: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.output}`);
}

/**
 * A test document as promtool-readable JSON (YAML's subset): the reader keeps scalars as strings,
 * and promtool wants numbers for sample values.
 */
function promtoolJson(doc: YamlValue, key = ''): unknown {
  if (Array.isArray(doc)) return doc.map((d) => promtoolJson(d, key));
  if (typeof doc === 'object') return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, promtoolJson(v, k)]));
  return key === 'value' ? Number(doc) : doc;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-prometheus-'));
}

/** Writes rules (as JSON) and the given tests into a directory laid out like ops/prometheus. */
function writeCopy(dir: string, rules: YamlValue, tests: { file: string; doc: Obj }[]): string[] {
  fs.mkdirSync(path.join(dir, 'tests'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'alerts.yml'), JSON.stringify(rules, null, 1));
  return tests.map(({ file, doc }) => {
    const target = path.join(dir, 'tests', path.basename(file));
    fs.writeFileSync(target, JSON.stringify(promtoolJson(doc), null, 1));
    return target;
  });
}

/** Metric names an expression selects: strings, label matchers, ranges and grouping clauses removed. */
function selectedNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset']);
  const names: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith('(') || keywords.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

beforeAll(async () => {
  promtoolPath = await ensurePromtool();
}, 300_000);

describe('promtool accepts the config and the rules', () => {
  it('check config: the scrape config and the rule file it references', async () => {
    const r = await promtool(['check', 'config', `${RELATIVE}/prometheus.yml`]);
    expectSuccess(r, 'promtool check config');
    expect(r.output).toContain('SUCCESS: 1 rule files found');
    expect(r.output).toContain(`Checking ${RELATIVE}/alerts.yml\n  SUCCESS: ${RULES.length} rules found`);
    const config = readYaml(`${RELATIVE}/prometheus.yml`);
    const jobs = list(config.scrape_configs, 'scrape_configs').map((j) => str(obj(j, 'job').job_name));
    expect(jobs).toEqual(['tickflow']);
    expect(list(config.rule_files, 'rule_files')).toEqual(['alerts.yml']);
  });

  it('check rules: every rule parses (and the reader here saw them all)', async () => {
    const r = await promtool(['check', 'rules', `${RELATIVE}/alerts.yml`]);
    expectSuccess(r, 'promtool check rules');
    expect(r.output).toContain(`SUCCESS: ${RULES.length} rules found`);
    expect(RULES.length).toBe(ALERTS.length + RECORDS.length);
    expect(GROUP_NAMES).toEqual(['tickflow-counts', 'tickflow-pipeline', 'tickflow-data', 'tickflow-trading']);
    expect(RECORDS.every((r) => r.group === 'tickflow-counts')).toBe(true);
  });

  it('test rules: every unit-test file passes as written', async () => {
    expect(TEST_FILES.length).toBeGreaterThanOrEqual(3);
    const r = await promtool(['test', 'rules', ...TEST_FILES]);
    expectSuccess(r, 'promtool test rules');
    for (const file of TEST_FILES) expect(r.output).toContain(`Unit Testing:  ${file}\n  SUCCESS`);
    expect(r.output).not.toContain('FAILED');
  });
});

describe('promtool test groups, one at a time', () => {
  it.each(TEST_GROUPS.map((g) => [`${path.basename(g.file)}: ${g.name}`, g] as const))(
    '%s passes',
    async (_, group) => {
      const dir = tempDir();
      try {
        const doc = { ...TEST_DOCS.get(group.file), tests: [group.test] } as Obj;
        const [file] = writeCopy(dir, RULES_DOC, [{ file: group.file, doc }]);
        const r = await promtool(['test', 'rules', file]);
        expectSuccess(r, `promtool test rules (${group.name})`);
        expect(r.output).toContain('SUCCESS');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('the alert rules', () => {
  it('every alert has a severity and summary, description and runbook annotations', () => {
    expect(ALERTS.map((a) => a.alert).sort()).toEqual([
      'TickflowAccountHalted',
      'TickflowAccountReducing',
      'TickflowBreakerTripped',
      'TickflowConsumerLagGrowing',
      'TickflowDeadLetters',
      'TickflowDependencyDown',
      'TickflowFailover',
      'TickflowNoProgress',
      'TickflowPartitionsPaused',
      'TickflowStaleFeed',
      'TickflowTargetDown',
    ]);
    const problems: string[] = [];
    for (const a of ALERTS) {
      const labels = obj(a.raw.labels ?? {}, `${a.alert} labels`);
      const annotations = obj(a.raw.annotations ?? {}, `${a.alert} annotations`);
      if (!SEVERITIES.includes(str(labels.severity))) problems.push(`${a.alert}: severity '${str(labels.severity)}'`);
      for (const key of ['summary', 'description', 'runbook'])
        if (str(annotations[key]).trim().length < 10) problems.push(`${a.alert}: no ${key} annotation`);
    }
    expect(problems).toEqual([]);
  });

  it('every alert has a unit test where it fires and one where it must not; every recording rule is tested', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    const recordsTested = new Set<string>();
    for (const [file, doc] of TEST_DOCS) {
      expect([file, list(doc.rule_files, 'rule_files')]).toEqual([file, ['../alerts.yml']]);
      // Recording rules before the alerts that read them, every group named (see the files' comment).
      expect([file, list(doc.group_eval_order, 'group_eval_order')]).toEqual([file, GROUP_NAMES]);
      for (const t of list(doc.tests, 'tests')) {
        for (const c of list(obj(t, 'test').alert_rule_test, 'alert_rule_test')) {
          const check = obj(c, 'alert_rule_test');
          const expected = list(check.exp_alerts, 'exp_alerts');
          (expected.length > 0 ? firing : quiet).add(str(check.alertname));
          for (const e of expected) {
            expect(Object.keys(obj(obj(e, 'exp_alert').exp_annotations, 'exp_annotations')).sort()).toEqual([
              'description',
              'runbook',
              'summary',
            ]);
          }
        }
        for (const c of list(obj(t, 'test').promql_expr_test, 'promql_expr_test'))
          recordsTested.add(str(obj(c, 'promql_expr_test').expr));
      }
    }
    const names = ALERTS.map((a) => a.alert as string);
    expect(names.filter((n) => !firing.has(n))).toEqual([]);
    expect(names.filter((n) => !quiet.has(n))).toEqual([]);
    expect([...firing, ...quiet].filter((n) => !names.includes(n))).toEqual([]);
    expect(RECORDS.map((r) => r.record as string).filter((r) => !recordsTested.has(r))).toEqual([]);
  });

  // Proves the firing cases depend on the expressions: an alert that cannot fire must fail its tests.
  it('a test fails when its alert is made unable to fire', async () => {
    const dir = tempDir();
    try {
      const tests = TEST_FILES.map((file) => ({ file, doc: TEST_DOCS.get(file) as Obj }));
      const files = writeCopy(dir, RULES_DOC, tests);
      expectSuccess(await promtool(['test', 'rules', ...files]), 'promtool test rules on the JSON copy');
      for (const a of ALERTS) {
        const mutated = JSON.parse(JSON.stringify(RULES_DOC)) as { groups: { rules: Obj[] }[] };
        for (const g of mutated.groups) for (const r of g.rules) if (r.alert === a.alert) r.expr = 'vector(1) < 0';
        writeCopy(dir, mutated as unknown as YamlValue, tests);
        const r = await promtool(['test', 'rules', ...files]);
        expect([a.alert, r.code]).toEqual([a.alert, 1]);
        expect(r.output).toContain(`alertname: ${a.alert},`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every metric an expression names is served on /metrics by a tickflow process', async () => {
    const text = await new RuntimeMetrics().registry.metrics();
    const families = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1], m[2]);
    expect(families.get('tickflow_consumer_lag')).toBe('gauge');
    const served = (name: string): boolean => {
      if (families.has(name)) return true;
      const base = /^(.*)_(?:bucket|sum|count)$/.exec(name)?.[1];
      return base !== undefined && ['histogram', 'summary'].includes(families.get(base) ?? '');
    };
    const recorded = new Set(RECORDS.map((r) => r.record));
    const problems: string[] = [];
    const used = new Set<string>();
    for (const rule of RULES) {
      for (const name of selectedNames(rule.expr)) {
        used.add(name);
        if (name === 'up') continue; // Prometheus's own, one per target
        if (name.startsWith('tickflow:')) {
          if (!recorded.has(name)) problems.push(`${rule.alert ?? rule.record}: ${name} is not a recording rule here`);
        } else if (!name.startsWith('tickflow_'))
          problems.push(`${rule.alert ?? rule.record}: ${name} is not tickflow's`);
        else if (!served(name)) problems.push(`${rule.alert ?? rule.record}: ${name} is not served on /metrics`);
      }
    }
    // The extraction itself must see the selectors (a regex that finds nothing would pass vacuously).
    expect([...used]).toEqual(
      expect.arrayContaining([
        'up',
        'tickflow_consumer_lag',
        'tickflow_dead_letters_total',
        'tickflow_dependency_up',
        'tickflow_paused_partitions',
        'tickflow_process_process_start_time_seconds',
        'tickflow_records_in_total',
        'tickflow_seconds_since_progress',
        'tickflow_stage_events_total',
        'tickflow_trading_state',
        'tickflow:dead_letters:increase10m',
        'tickflow:stage_events:increase15m',
      ]),
    );
    expect([...new Set(problems)]).toEqual([]);
  });
});
