// Starts real engines (etcd, dnsmasq) on free loopback ports for the examples.
// CI installs them with .ci/install-integration-deps.sh before running examples.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

// Engines die with this process, even when it exits abnormally.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The path of an installed binary, or undefined. */
export function findBinary(name: string): string | undefined {
  const out = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim();
  return out.split('\n')[0] || undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitFor(check: () => Promise<boolean>, child: ChildProcess, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() - started > 20_000) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A throwaway single-member etcd on loopback. */
export async function startEtcd(bin: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'proxyless-example-etcd-'));
  const url = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const child = track(spawn(
    bin,
    ['--name', 'ex', '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `ex=${peer}`, '--log-level', 'error'],
    { stdio: 'ignore' },
  ));
  await waitFor(
    async () => {
      try {
        const res = await request(`${url}/v3/kv/range`, { method: 'POST', body: '{"key":"Lw=="}' });
        await res.body.text();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    },
    child,
    'etcd',
  );
  return {
    url,
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A throwaway dnsmasq on loopback serving the given hosts lines and SRV records. */
export async function startDnsmasq(
  bin: string,
  hosts: string[],
  srv: string[],
): Promise<{ server: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'proxyless-example-dns-'));
  writeFileSync(join(dir, 'hosts'), `${hosts.join('\n')}\n`);
  const port = await freePort();
  const child = track(spawn(
    bin,
    ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--user=root',
      '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, `--addn-hosts=${join(dir, 'hosts')}`,
      '--local-ttl=5', ...srv.map((s) => `--srv-host=${s}`)],
    { stdio: 'ignore' },
  ));
  const { promises: dns } = await import('node:dns');
  const resolver = new dns.Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  await waitFor(
    async () => {
      try {
        await resolver.resolve4(hosts[0]!.split(/\s+/)[1]!);
        return true;
      } catch {
        return false;
      }
    },
    child,
    'dnsmasq',
  );
  return {
    server: `127.0.0.1:${port}`,
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
