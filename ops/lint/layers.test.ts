import { execFileSync } from 'node:child_process';
import path from 'node:path';

// The layering rule as the project's lint runs it (eslint.config.mjs, in a child process: the config
// is an ES module, which jest cannot load): each case lints one import written from a file at the
// given path (the file need not exist).
const ROOT = path.resolve(__dirname, '..', '..');
const LINT_CASES = `
import { ESLint } from 'eslint';
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const [file, spec] of cases) {
  const [result] = await eslint.lintText("import { x } from '" + spec + "';\\nexport const y = x;\\n", { filePath: file });
  out.push(result.messages.filter((m) => m.ruleId === 'tickflow/layers').map((m) => m.message));
}
console.log(JSON.stringify(out));
`;

const UPWARD: [string, string][] = [
  ['pipelines/runtime/runner.ts', '../../ops/cli/args'],
  ['pipelines/runtime/runner.ts', '../normalize/normalize'],
  ['topics/catalog.ts', '../pipelines/runtime/store'],
  ['schemas/quality.ts', '../topics/catalog'],
  ['connectors/questdb/sink.ts', '../../ops/stack/stack'],
  ['connectors/tardis/formats.ts', '../file-replay/replay'],
  ['pipelines/aggregate/aggregate.ts', '../../ops/run/pipeline'],
  ['pipelines/indicators/flow.ts', '../score/score'],
  ['pipelines/normalize/normalize.ts', '../registry'],
  ['connectors/binance/feed.ts', '../registry'],
  ['connectors/registry.ts', '../ops/cli/args'],
];
const SIDEWAYS: [string, string, string][] = [
  ['pipelines/score/score.ts', '../aggregate/bars', 'a stage never imports another stage'],
  [
    'pipelines/aggregate/aggregate.ts',
    '../../connectors/questdb/sink',
    'stages and connectors do not import each other',
  ],
  [
    'connectors/synthetic/market.ts',
    '../../pipelines/normalize/quality',
    'stages and connectors do not import each other',
  ],
];
const ALLOWED: [string, string][] = [
  ['pipelines/normalize/normalize.ts', '../../connectors/formats'],
  ['pipelines/normalize/quality.ts', '../../connectors/reference/calendars'],
  ['pipelines/score/score.ts', '../indicators/registry'],
  ['pipelines/score/score.ts', './strategies/registry'],
  ['connectors/questdb/sink.ts', '../../pipelines/runtime/sink'],
  ['pipelines/runtime/store.ts', '../../topics/catalog'],
  ['pipelines/registry.ts', './normalize/normalize'],
  ['ops/cli/main.ts', '../../pipelines/registry'],
  ['connectors/registry.ts', './binance/feed'],
  ['connectors/registry.ts', './formats'],
  ['ops/cli/commands/feed.ts', '../../../connectors/registry'],
  ['pipelines/normalize/normalize.test.ts', '../../ops/run/pipeline'],
];

let results: Map<string, string[]>;

beforeAll(() => {
  const cases = [...UPWARD, ...SIDEWAYS.map(([f, s]) => [f, s]), ...ALLOWED];
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', LINT_CASES, JSON.stringify(cases)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const messages = JSON.parse(out) as string[][];
  results = new Map(cases.map(([f, s], i) => [`${f} ${s}`, messages[i]]));
}, 60_000);

function layerErrors(file: string, spec: string): string[] {
  return results.get(`${file} ${spec}`) ?? ['(case not linted)'];
}

describe('tickflow/layers: imports point one way', () => {
  it.each(UPWARD)('%s may not import %s (upward)', (file, spec) => {
    const errors = layerErrors(file, spec);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('imports point one way only');
    expect(errors[0]).toContain('schemas <- topics <- pipelines/runtime');
  });

  it.each(SIDEWAYS)('%s may not import %s (sideways)', (file, spec, message) => {
    expect(layerErrors(file, spec)).toEqual([expect.stringContaining(message)]);
  });

  it.each(ALLOWED)('%s may import %s', (file, spec) => {
    expect(layerErrors(file, spec)).toEqual([]);
  });
});
