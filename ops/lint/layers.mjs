// The house in layers (README, "Layers"): every import points down, never up or sideways between
// stages. A file's layer comes from its path; the first matching entry wins. Tests (*.test.ts and
// tests/) sit outside the house and may import anything.
import path from 'node:path';

/**
 * `rank`: lower is further down; a file may import its own rank's files and anything lower, except
 * across stage folders and between stages and connectors. Entries are tried in order.
 */
export const LAYERS = [
  { name: 'schemas', rank: 0, match: [/^schemas\//] },
  { name: 'topics', rank: 1, match: [/^topics\//] },
  { name: 'runtime', rank: 2, match: [/^pipelines\/runtime\//] },
  {
    name: 'formats and reference data',
    rank: 3,
    // Pure parsers and instrument reference data: normalize and the connectors both reach them.
    match: [
      /^connectors\/formats\.ts$/,
      /^connectors\/time\.ts$/,
      /^connectors\/reference\//,
      /^connectors\/[^/]+\/formats?\.ts$/,
      /^connectors\/binance\/messages\.ts$/,
      /^connectors\/rest-poller\/alphavantage\.ts$/,
      /^connectors\/tardis\/venues\.ts$/,
    ],
  },
  { name: 'stage libraries', rank: 4, match: [/^pipelines\/indicators\//] },
  { name: 'registries', rank: 6, match: [/^pipelines\/registry\.ts$/, /^connectors\/registry\.ts$/] },
  // Stages and connectors share a rank: neither imports the other, and no stage imports another.
  { name: 'stages', rank: 5, match: [/^pipelines\/[^/]+\//], sideways: 'folder' },
  { name: 'connectors', rank: 5, match: [/^connectors\//] },
  { name: 'ops', rank: 7, match: [/^ops\//] },
];

const ORDER =
  'schemas <- topics <- pipelines/runtime <- formats and reference data <- stage libraries (pipelines/indicators) <- stages, connectors <- registries <- ops';

function layerOf(file) {
  return LAYERS.find((layer) => layer.match.some((re) => re.test(file)));
}

/** Which stage folder a file is in (pipelines/<stage>/...). */
function stageFolder(file) {
  const m = /^pipelines\/([^/]+)\//.exec(file);
  return m ? m[1] : undefined;
}

export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports point down the layers: ' + ORDER },
    schema: [],
  },
  create(context) {
    const root = context.cwd;
    const file = path.relative(root, context.filename).split(path.sep).join('/');
    if (file.endsWith('.test.ts') || file.startsWith('tests/')) return {};
    const from = layerOf(file);
    if (!from) return {};
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path
        .relative(root, path.resolve(path.dirname(context.filename), spec))
        .split(path.sep)
        .join('/');
      const candidates = [`${target}.ts`, `${target}/index.ts`, target];
      const to = candidates.map(layerOf).find(Boolean);
      if (!to) return;
      const where = `${file} (${from.name}) imports ${target} (${to.name})`;
      if (to.rank > from.rank) {
        context.report({
          node,
          message: `${where}: imports point one way only, ${ORDER}. Move what both need below both.`,
        });
      } else if (to.rank === from.rank && from.name !== to.name) {
        context.report({
          node,
          message: `${where}: stages and connectors do not import each other; move what both need below both (${ORDER}).`,
        });
      } else if (
        from.sideways === 'folder' &&
        to.name === from.name &&
        stageFolder(file) !== stageFolder(target + '/')
      ) {
        context.report({
          node,
          message: `${where}: a stage never imports another stage; move what two stages share below both (a stage library, topics/ or schemas/).`,
        });
      }
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
      CallExpression: (node) => {
        if (
          node.callee.type === 'Identifier' &&
          node.callee.name === 'require' &&
          node.arguments[0]?.type === 'Literal'
        )
          check(node.arguments[0], node.arguments[0].value);
      },
    };
  },
};
