// What a docs snippet's `import ... from 'vitest'` becomes (test/helpers/snippets.ts):
// vitest's own `expect`, and `it`/`test`/`describe` with before/after hooks run
// in order once the snippet module has been evaluated. A failing test sets
// exit code 1 and prints the error, so the harness sees it.
export { expect, expectTypeOf } from 'vitest';

type Fn = () => unknown;
const tests: { name: string; fn: Fn }[] = [];
const before: Fn[] = [];
const after: Fn[] = [];
const beforeAlls: Fn[] = [];
const afterAlls: Fn[] = [];
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => void runAll(), 0);
}

async function runAll(): Promise<void> {
  let failed = 0;
  for (const f of beforeAlls) await f();
  for (const t of tests) {
    try {
      for (const f of before) await f();
      await t.fn();
      console.log(`ok   ${t.name}`);
    } catch (error) {
      failed++;
      console.error(`FAIL ${t.name}\n`, error);
    } finally {
      for (const f of after) await f();
    }
  }
  for (const f of afterAlls) await f();
  if (failed > 0) process.exitCode = 1;
}

/** Registers a test. */
export function it(name: string, fn: Fn): void {
  tests.push({ name, fn });
  schedule();
}
export const test = it;
/** Runs the group's body at once (groups only name tests here). */
export function describe(_name: string, body: () => void): void {
  body();
}
export function beforeEach(fn: Fn): void {
  before.push(fn);
}
export function afterEach(fn: Fn): void {
  after.push(fn);
}
export function beforeAll(fn: Fn): void {
  beforeAlls.push(fn);
}
export function afterAll(fn: Fn): void {
  afterAlls.push(fn);
}
