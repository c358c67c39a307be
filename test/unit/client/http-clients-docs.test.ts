import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The page's snippets are checked by the docs snippet harness (each is marked
// `in: examples/http-clients.ts`, which CI runs); this checks it is reachable.
const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('docs/http-clients.md', () => {
  it('is linked from the README', () => {
    expect(read('README.md')).toContain('(docs/http-clients.md)');
  });
});
