// jest settings for the example test files in examples/testing/jest (see run.mjs).
// ESM + TypeScript on Node 20: babel-jest strips types (modules stay ESM), jest runs with
// --experimental-vm-modules.
export default {
  rootDir: '../..',
  roots: ['<rootDir>/examples/testing/jest'],
  testMatch: ['**/*.test.ts'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['babel-jest', { babelrc: false, configFile: false, presets: [['@babel/preset-typescript']] }],
  },
  moduleNameMapper: {
    // The package resolves to its build, as it does for users ('npm run build' first).
    '^proxyless$': '<rootDir>/dist/index.js',
    '^proxyless/testing$': '<rootDir>/dist/testing/index.js',
    // TypeScript sources import each other with .js extensions.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};
