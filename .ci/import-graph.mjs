// Prints the import graph figures of src/: folder pairs that import each
// other and file cycles (type imports and dynamic imports included), the two
// things `layers/folder-order` and `layers/no-cycle` forbid.
// Usage: node .ci/import-graph.mjs [root]     (exit code 1 when either is non-zero)
import { readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { importsOf } from './eslint-plugin-layers.js';

const root = resolve(process.argv[2] ?? 'src');
const files = readdirSync(root, { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(root, f));
const name = (f) => relative(root, f);
const folder = (f) => (name(f).includes(sep) ? name(f).split(sep)[0] : name(f));

// Folder pairs importing each other.
const folderEdges = new Map();
for (const f of files) {
  for (const t of importsOf(f)) {
    if (folder(t) === folder(f)) continue;
    const key = `${folder(f)} -> ${folder(t)}`;
    if (!folderEdges.has(key)) folderEdges.set(key, []);
    folderEdges.get(key).push(`${name(f)} -> ${name(t)}`);
  }
}
const pairs = [];
for (const key of folderEdges.keys()) {
  const [a, b] = key.split(' -> ');
  if (a < b && folderEdges.has(`${b} -> ${a}`)) pairs.push([a, b]);
}

// File cycles: strongly connected components of more than one file (Tarjan).
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let counter = 0;
function visit(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of importsOf(v)) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || importsOf(v).includes(v)) cycles.push(component.map(name).sort());
  }
}
for (const f of files) if (!index.has(f)) visit(f);

console.log(`${files.length} files, ${folderEdges.size} folder edges`);
console.log(`folder pairs importing each other: ${pairs.length}`);
for (const [a, b] of pairs) {
  console.log(`  ${a} <-> ${b}`);
  for (const e of [...folderEdges.get(`${a} -> ${b}`), ...folderEdges.get(`${b} -> ${a}`)]) console.log(`      ${e}`);
}
console.log(`file cycles (strongly connected groups): ${cycles.length}, files in them: ${cycles.flat().length}`);
for (const c of cycles) console.log(`  [${c.length}] ${c.join(', ')}`);
process.exitCode = pairs.length + cycles.length > 0 ? 1 : 0;
