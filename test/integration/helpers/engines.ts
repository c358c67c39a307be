import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** Fails loudly (never skips) when an engine binary is missing. */
export function requireBinary(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  if (!found) throw new Error(`${name} is not installed: run .ci/install-integration-deps.sh (apt-get install -y dnsmasq etcd-server)`);
  return found;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A free UDP port on 127.0.0.1 (dnsmasq also listens on TCP; the same number is usually free there). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const port = socket.address().port;
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000, every = 10): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
  return Date.now() - started;
}

function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

/** A single-member etcd on loopback with its own data directory. */
export interface EtcdServer {
  readonly url: string;
  /** (Re)starts it with the same data and ports; resolves when it answers. */
  start(): Promise<void>;
  /** Stops it (the data stays). */
  stop(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export async function startEtcd(): Promise<EtcdServer> {
  const bin = requireBinary('etcd');
  const dir = mkdtempSync(join(tmpdir(), 'proxyless-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  let child: ChildProcess | undefined;
  let log = '';
  const call = async (path: string, body: object): Promise<Record<string, unknown>> => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const etcd: EtcdServer = {
    url,
    async start() {
      child = track(spawn(
        bin,
        [
          '--name', 'proxyless-test',
          '--data-dir', join(dir, 'data'),
          '--listen-client-urls', url,
          '--advertise-client-urls', url,
          '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
          '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
          '--initial-cluster', `proxyless-test=http://127.0.0.1:${peerPort}`,
          '--log-level', 'error',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
      ));
      child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      const c = child;
      await until(
        async () => {
          if (c.exitCode !== null) throw new Error(`etcd exited (${c.exitCode}): ${log.slice(-2000)}`);
          try {
            await call('/v3/kv/range', { key: b64('/') });
            return true;
          } catch {
            return false;
          }
        },
        'etcd to answer',
        30_000,
        100,
      );
    },
    stop: () => stopChild(child),
    async destroy() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async put(key, value) {
      await call('/v3/kv/put', { key: b64(key), value: b64(value) });
    },
    async del(key) {
      await call('/v3/kv/deleterange', { key: b64(key) });
    },
    async get(key) {
      const r = (await call('/v3/kv/range', { key: b64(key) })) as { kvs?: { value?: string }[] };
      const v = r.kvs?.[0]?.value;
      return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
    },
  };
  await etcd.start();
  return etcd;
}

/** dnsmasq on a loopback port serving a hosts file (A records, reloaded on SIGHUP) and SRV records. */
export interface Dnsmasq {
  readonly server: string;
  readonly port: number;
  /** Rewrites the hosts file and tells dnsmasq to reload it. */
  setHosts(lines: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startDnsmasq(options: { hosts: string[]; srv: string[]; ttlSeconds: number }): Promise<Dnsmasq> {
  const bin = requireBinary('dnsmasq');
  const dir = mkdtempSync(join(tmpdir(), 'proxyless-dns-'));
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, `${options.hosts.join('\n')}\n`);
  const port = await freeUdpPort();
  const args = [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--conf-file=/dev/null',
    '--pid-file=',
    '--user=root',
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    `--port=${port}`,
    `--addn-hosts=${hostsFile}`,
    `--local-ttl=${options.ttlSeconds}`,
    '--log-facility=-',
    ...options.srv.map((s) => `--srv-host=${s}`),
  ];
  const child = track(spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const first = options.hosts[0]!.split(/\s+/)[1]!;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited (${child.exitCode}): ${log}`);
      try {
        await resolver.resolve4(first);
        return true;
      } catch {
        return false;
      }
    },
    'dnsmasq to answer',
    15_000,
    100,
  );
  return {
    server: `127.0.0.1:${port}`,
    port,
    async setHosts(lines) {
      writeFileSync(hostsFile, `${lines.join('\n')}\n`);
      child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 50));
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy on loopback that can cut every connection and refuse new ones, to break a client's link without stopping the server. */
export interface CuttableProxy {
  readonly url: string;
  /** Destroys every connection and refuses new ones until {@link CuttableProxy.restore}. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<CuttableProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
