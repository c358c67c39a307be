// Checks a packed tarball: LICENSE is in it, and every source map's `sources`
// resolve to a file inside the tarball (a stack trace or "go to definition"
// must never point at a file that is not installed).
// Usage: node .ci/check-tarball.mjs <tarball>
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';

const tarball = process.argv[2];
if (!tarball) throw new Error('usage: node .ci/check-tarball.mjs <tarball>');
const dir = mkdtempSync(join(tmpdir(), 'proxyless-pack-'));
try {
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const files = new Set(
    execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, '')),
  );
  const problems = [];
  if (!files.has('LICENSE')) problems.push('LICENSE is not in the tarball');
  let maps = 0;
  for (const file of files) {
    if (!file.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(join(dir, 'package', file), 'utf8'));
    for (const source of map.sources ?? []) {
      const resolved = posix.normalize(posix.join(dirname(file), map.sourceRoot ?? '', source));
      if (!files.has(resolved)) problems.push(`${file}: source ${source} (${resolved}) is not in the tarball`);
    }
  }
  if (maps === 0) problems.push('no source maps found (expected dist/**/*.map)');
  if (problems.length > 0) {
    console.error(problems.slice(0, 20).join('\n'));
    process.exit(1);
  }
  console.log(`tarball ok: LICENSE present, ${maps} source maps resolve inside the package`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
