/**
 * What the clients talk to: the loopback target (node:http servers, run as a child process of its own, pinned
 * to the other CPU where there is one) and the HAProxy and nginx hops in front of it (Debian's packages, started
 * on loopback with generated configs: one thread or worker, keep-alive, round robin; left to the scheduler, as a
 * sidecar shares the machine).
 *
 * Run as a script (`node --import tsx servers.ts <endpoints>`), this file is the target: it prints its ports as
 * one JSON line and exits when stdin closes. Profiles: `small` answers 1 KiB at once; `flaky` answers 1 KiB but
 * fails 3 requests in 10 (2 with a 503, 1 by destroying the socket before any response).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The target's ports by profile. */
export interface TargetPorts {
  small: number[];
  flaky: number[];
}

const BODY = Buffer.alloc(1024, 'a');
const HEADERS = { 'content-type': 'application/octet-stream', 'content-length': String(BODY.length) };

async function serveTarget(endpoints: number): Promise<void> {
  let count = 0;
  const small: RequestListener = (req, res) => {
    req.resume();
    res.writeHead(200, HEADERS).end(BODY);
  };
  const flaky: RequestListener = (req, res) => {
    req.resume();
    const n = count++ % 10;
    if (n === 3) req.socket.destroy();
    else res.writeHead(n === 1 || n === 7 ? 503 : 200, HEADERS).end(BODY);
  };
  const ports: TargetPorts = { small: [], flaky: [] };
  for (const [name, handle] of [['small', small], ['flaky', flaky]] as const) {
    for (let i = 0; i < endpoints; i++) {
      const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 0 }, handle);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
      ports[name].push((server.address() as AddressInfo).port);
    }
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.on('close', () => process.exit(0)).resume();
}

/** True when `taskset` can split this process and the target over two CPUs. */
export function canPin(): boolean {
  return process.platform === 'linux' && availableParallelism() >= 2 && pin(process.pid, 0);
}

/** Pins every thread of `pid` to `cpu`; false when it could not. */
export function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts the target with `endpoints` servers per profile, pinned to CPU 1 when `pinned`. */
export async function startTarget(endpoints: number, pinned: boolean): Promise<{ child: ChildProcess; ports: TargetPorts }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(endpoints)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the target exited with ${code}`)));
  });
  if (pinned) pin(child.pid!, 1);
  return { child, ports: JSON.parse(line) as TargetPorts };
}

/** A running hop: its origin in front of the `small` endpoints. */
export interface Hop {
  origin: string;
  version: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first line `<name> -v` prints (both print it on exit 0; nginx on stderr), or undefined when it is not installed. */
function version(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `${name} -v 2>&1`], { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

/** Starts HAProxy or nginx in front of `ports`, or says why it cannot. */
export async function startHop(name: 'haproxy' | 'nginx', ports: readonly number[], connections: number): Promise<Hop | string> {
  const v = version(name);
  if (v === undefined) return `${name} not installed (.ci/install-bench-deps.sh)`;
  const dir = mkdtempSync(join(tmpdir(), `proxyless-bench-${name}-`));
  const port = await freePort();
  const servers = ports.map((p, i) => (name === 'haproxy' ? `  server s${i} 127.0.0.1:${p} maxconn ${connections * 4}` : `    server 127.0.0.1:${p};`));
  const config =
    name === 'haproxy'
      ? ['global', '  nbthread 1', '  maxconn 4096', 'defaults', '  mode http', '  option http-keep-alive', '  http-reuse always',
          '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s', '  timeout http-keep-alive 60s',
          'listen small', `  bind 127.0.0.1:${port}`, '  balance roundrobin', ...servers]
      : [...(process.getuid?.() === 0 ? ['user root;'] : []), 'worker_processes 1;', 'master_process off;', 'daemon off;',
          `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log error;`, 'events { worker_connections 8192; }', 'http {', '  access_log off;',
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
          '  keepalive_requests 1000000;', '  keepalive_timeout 60s;', '  upstream small {', ...servers,
          `    keepalive ${connections * ports.length};`, '    keepalive_requests 1000000;', '  }',
          `  server { listen 127.0.0.1:${port} backlog=1024; location / { proxy_pass http://small; proxy_http_version 1.1; proxy_set_header Connection ""; } }`, '}'];
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, `${config.join('\n')}\n`);
  const args = name === 'haproxy' ? ['-db', '-f', file] : ['-p', dir, '-c', file, '-e', `${dir}/error.log`];
  const child = spawn(name, args, { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let waited = 0; ; waited += 50) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1').once('connect', () => resolve(true)).once('error', () => resolve(false));
      s.once('connect', () => s.destroy());
    });
    if (up) return { origin: `http://127.0.0.1:${port}`, version: v, stop };
    if (child.exitCode !== null || waited > 10_000) {
      await stop();
      return `${name} did not start (exit ${child.exitCode})`;
    }
    await sleep(50);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void serveTarget(Number(process.argv[2] ?? '4'));
