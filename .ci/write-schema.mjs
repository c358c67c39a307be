// Writes dist/schema.json (the `proxyless/schema.json` export) from the one
// definition in src/config/schema.ts, after tsc built dist/. Run by `npm run build`.
import { writeFileSync } from 'node:fs';
import { publishedSchema } from '../dist/config/schema.js';

const out = new URL('../dist/schema.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(publishedSchema(), null, 2)}\n`);
console.log(`wrote ${out.pathname}`);
