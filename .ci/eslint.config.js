// ESLint flat config. Kept in .ci/ so the repository's top level stays as agreed.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint-plugin-layers.js';

// Layers that only point down (docs/architecture.md, "Layers"): the folders of
// src/, lowest first. A folder imports only itself and folders listed before
// it; folders in one entry are on the same level and never import each other.
// Checked by `layers/folder-order`; `layers/no-cycle` forbids file cycles.
// Both count type-only and dynamic imports.
const LAYERS = [
  'errors',
  'util',
  ['endpoint', 'faults', 'telemetry'],
  ['balancing', 'discovery', 'security'],
  ['routing', 'health', 'resilience'],
  'config',
  'client',
  ['index', 'server', 'integrations', 'testing'],
];

const NO_PROPERTY_CLOSURES = {
  selector: "AssignmentExpression[left.type='MemberExpression'] > :matches(ArrowFunctionExpression, FunctionExpression).right",
  message:
    'Do not assign a function literal straight to a property: V8 allocates it in old space (pretenuring, docs/benchmarks.md). Make it into a local first, then assign the local.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'docs/**', 'test/.snippets/**', 'node_modules/**', 'coverage/**', '.bench-out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // `interface RetryOptions extends Static<typeof RETRY_SCHEMA> {}` names a schema's type (src/config/schema.ts).
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-console': 'error',
      // V8's parser takes `obj.f = () => ...` for a method being installed and
      // allocates those closures in old space until the code is optimized. On
      // a request path that seeds permanent pretenuring of the request's
      // objects (docs/benchmarks.md, "Pretenuring"): make the closure into a
      // local first, then assign the local.
      'no-restricted-syntax': ['error', NO_PROPERTY_CLOSURES],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { layers },
    rules: {
      'layers/no-cycle': 'error',
      'layers/folder-order': ['error', { root: 'src', layers: LAYERS }],
    },
  },
  {
    // The request path: on Node 20 (V8 11.3) `{ ...opts, headers }`, a spread
    // followed by properties its source lacks, takes a slow path for each
    // added property (docs/benchmarks.md, "Object spreads on Node 20"). Use
    // assignOver (src/util/assign-over.ts) there.
    files: ['src/client/request/*.ts', 'src/client/legacy-bridge.ts', 'src/client/mesh-dispatcher.ts', 'src/telemetry/otel-tracing.ts', 'src/telemetry/event-bus.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        NO_PROPERTY_CLOSURES,
        {
          selector: 'ObjectExpression > SpreadElement ~ Property',
          message:
            'No `{ ...source, prop }` on the request path: a spread followed by new properties is slow on Node 20 (docs/benchmarks.md). Use assignOver(source, { prop }) from src/util/assign-over.ts.',
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
