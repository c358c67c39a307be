/**
 * The build of proxyless the side-by-side suite measures: the package as users
 * run it, `dist/` (plain `tsc` output), not `src/` through tsx.
 *
 * tsx compiles with esbuild's `keepNames`, which wraps every closure bound to
 * a name (`const resume = () => ...`) in a `__name(fn, "resume")` call, an
 * `Object.defineProperty` per closure made. The request path makes such
 * closures per request, so measured through tsx the mesh rows paid about
 * 0.5 µs of CPU and 300 B per request that the published package does not
 * (docs/benchmarks.md, "What the suite measures: dist, not src").
 *
 * When any file in `src/` is newer than `dist/index.js` (or there is no
 * build), this runs `npm run build` first (a few seconds), so a figure is
 * never taken from a stale build. Under vitest (the suite's own unit tests)
 * and with `PROXYLESS_BENCH_SOURCE=src` it loads `src/` instead: those check
 * the harness, not the numbers, and must not write `dist/` while other test
 * files read it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Source from '../../../src/index.js';

type Proxyless = typeof Source;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Which build to load: `dist` unless under vitest or told otherwise. */
export function selectedSource(env: NodeJS.ProcessEnv = process.env): 'dist' | 'src' {
  const asked = env.PROXYLESS_BENCH_SOURCE;
  if (asked !== undefined && asked !== 'dist' && asked !== 'src') {
    throw new Error(`PROXYLESS_BENCH_SOURCE must be "dist" or "src", got "${asked}"`);
  }
  return asked ?? (env.VITEST ? 'src' : 'dist');
}

/** The newest modification time (ms) of the TypeScript files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when `dist/` is missing or older than some file in `src/` (tsc rewrites every output on each build). */
export function distIsStale(root: string = ROOT): boolean {
  const built = join(root, 'dist/index.js');
  return !existsSync(built) || statSync(built).mtimeMs < newestSource(join(root, 'src'));
}

async function load(): Promise<{ source: 'dist' | 'src'; lib: Proxyless }> {
  const source = selectedSource();
  if (source === 'src') return { source, lib: await import('../../../src/index.js') };
  if (distIsStale()) {
    process.stderr.write('[bench] dist/ is missing or older than src/: npm run build\n');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (built.status !== 0) throw new Error(`npm run build failed (exit ${built.status ?? built.signal}); the bench measures dist/`);
  }
  return { source, lib: (await import(pathToFileURL(join(ROOT, 'dist/index.js')).href)) as Proxyless };
}

const loaded = await load();

/** `dist` or `src`: recorded with the results. */
export const PROXYLESS_SOURCE = loaded.source;
export const MeshClient = loaded.lib.MeshClient;
export type MeshClient = InstanceType<typeof MeshClient>;
export const MeshConfigError = loaded.lib.MeshConfigError;
export type { MeshClientOptions } from '../../../src/index.js';
