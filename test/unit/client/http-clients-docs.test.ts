import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('docs/http-clients.md', () => {
  it('every snippet appears as written in examples/http-clients.ts (which CI runs)', () => {
    const example = read('examples/http-clients.ts');
    const blocks = [...read('docs/http-clients.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd());
    expect(blocks.length).toBeGreaterThanOrEqual(7);
    for (const block of blocks) expect(example, block).toContain(block);
  });

  it('is linked from the README', () => {
    expect(read('README.md')).toContain('(docs/http-clients.md)');
  });
});
