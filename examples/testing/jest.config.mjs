// jest settings for the example test files in examples/testing/jest (see run.mjs).
// ESM + TypeScript on Node 20: @swc/jest strips types, jest runs with --experimental-vm-modules.
export default {
  rootDir: '../..',
  roots: ['<rootDir>/examples/testing/jest'],
  testMatch: ['**/*.test.ts'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: {
    // The package resolves to its build, as it does for users ('npm run build' first).
    '^meshlet$': '<rootDir>/dist/index.js',
    '^meshlet/testing$': '<rootDir>/dist/testing/index.js',
    // TypeScript sources import each other with .js extensions.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};
