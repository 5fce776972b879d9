// Lint config: recommended rules for TypeScript, plus the conventions in DESIGN.md section 4
// that a linter can hold (type-only imports, no barrels via `export *`, no wall clock in stages).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layersRule } from './ops/lint/layers.mjs';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.tickflow/**',
      'coverage/**',
      'ops/patches/**' /* copies of dependency files, in their own style */,
      'schemas/types.generated.ts' /* written by schemas/codegen */,
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { tickflow: { rules: { layers: layersRule } } },
    rules: {
      'tickflow/layers': 'error',
      // Prettier (checked by `npm run lint`) wraps code at 120; this holds comments to it too.
      // Long strings stay whole, so a message can be found with grep.
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'No `export *` barrels: import from the defining file.' },
      ],
    },
  },
  {
    // The engine stays readable in pieces (counted after Prettier, which spreads long calls over lines).
    files: ['pipelines/runtime/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['pipelines/*/**/*.ts'],
    ignores: ['pipelines/runtime/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Stages get time from ctx.clock, never the wall clock.' },
      ],
      'no-restricted-imports': [
        'error',
        { name: 'kafkajs', message: 'Stages never touch Kafka; the runtime does.' },
        { name: '@questdb/nodejs-client', message: 'Stages never touch QuestDB; the runtime does.' },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
