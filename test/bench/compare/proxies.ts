/**
 * The sidecar-style hops the mesh is compared with: Debian's HAProxy and
 * nginx, started by the bench on loopback with a generated configuration
 * (one thread / one worker, keep-alive to the endpoints, round robin), and
 * stopped at the end. Each profile of the target gets its own listener.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, hasCommand } from './proc.js';

/** A running proxy: the origin to use for each target profile. */
export interface Proxy {
  readonly name: 'haproxy' | 'nginx';
  readonly version: string;
  readonly pid: number | undefined;
  /** Origin (http://127.0.0.1:port) by profile name. */
  readonly origins: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/** Upstream ports by profile name. */
export type Upstreams = Readonly<Record<string, readonly number[]>>;

async function waitForPort(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new Error(`exited with code ${child.exitCode}: ${log.trim().slice(0, 500)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`did not listen on ${port} within 10 s`);
    await sleep(50);
  }
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

function version(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve('unknown'));
    child.on('close', () => resolve(out.split('\n')[0]?.trim() ?? 'unknown'));
  });
}

/** Starts HAProxy, or returns a reason why it is not available. */
export async function startHaproxy(upstreams: Upstreams, connectionsPerEndpoint: number): Promise<Proxy | string> {
  if (!hasCommand('haproxy')) return 'haproxy not installed (.ci/install-bench-deps.sh)';
  const dir = mkdtempSync(join(tmpdir(), 'proxyless-bench-haproxy-'));
  const origins: Record<string, string> = {};
  const lines = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  http-reuse always',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 60s',
  ];
  for (const [profile, ports] of Object.entries(upstreams)) {
    const port = await freePort();
    origins[profile] = `http://127.0.0.1:${port}`;
    lines.push(`listen ${profile}`, `  bind 127.0.0.1:${port}`, '  balance roundrobin');
    ports.forEach((p, i) => lines.push(`  server s${i} 127.0.0.1:${p} maxconn ${connectionsPerEndpoint * 4}`));
  }
  const config = join(dir, 'haproxy.cfg');
  const logFile = join(dir, 'haproxy.log');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const v = await version('haproxy', ['-v']);
  const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => writeFileSync(logFile, d, { flag: 'a' }));
  const stop = stopper(child, dir);
  try {
    for (const origin of Object.values(origins)) await waitForPort(Number(new URL(origin).port), child, logFile);
  } catch (error) {
    await stop();
    return `haproxy failed to start: ${(error as Error).message}`;
  }
  return { name: 'haproxy', version: v, pid: child.pid, origins, stop };
}

/** Starts nginx as a reverse proxy, or returns a reason why it is not available. */
export async function startNginx(upstreams: Upstreams, connectionsPerEndpoint: number): Promise<Proxy | string> {
  if (!hasCommand('nginx')) return 'nginx not installed (.ci/install-bench-deps.sh)';
  const dir = mkdtempSync(join(tmpdir(), 'proxyless-bench-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const origins: Record<string, string> = {};
  const logFile = join(dir, 'error.log');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const http: string[] = [];
  for (const [profile, ports] of Object.entries(upstreams)) {
    const port = await freePort();
    origins[profile] = `http://127.0.0.1:${port}`;
    http.push(
      `  upstream ${profile} {`,
      ...ports.map((p) => `    server 127.0.0.1:${p};`),
      `    keepalive ${connectionsPerEndpoint * ports.length};`,
      '    keepalive_requests 1000000;',
      '    keepalive_timeout 60s;',
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port} backlog=1024;`,
      '    location / {',
      `      proxy_pass http://${profile};`,
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      '    }',
      '  }',
    );
  }
  const conf = [
    ...(asRoot ? ['user root;'] : []),
    'worker_processes 1;',
    // One process (no master) so the bench can read its CPU time from /proc.
    'master_process off;',
    'daemon off;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${logFile} error;`,
    'events { worker_connections 8192; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(dir, 'body')};`,
    `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `  scgi_temp_path ${join(dir, 'scgi')};`,
    '  keepalive_requests 1000000;',
    '  keepalive_timeout 60s;',
    '  proxy_buffer_size 16k;',
    '  proxy_buffers 8 16k;',
    '  proxy_max_temp_file_size 0;',
    ...http,
    '}',
  ];
  const config = join(dir, 'nginx.conf');
  writeFileSync(config, `${conf.join('\n')}\n`);
  const v = await version('nginx', ['-v']);
  const child = spawn('nginx', ['-p', dir, '-c', config, '-e', logFile], { stdio: ['ignore', 'ignore', 'ignore'] });
  const stop = stopper(child, dir);
  try {
    for (const origin of Object.values(origins)) await waitForPort(Number(new URL(origin).port), child, logFile);
  } catch (error) {
    await stop();
    return `nginx failed to start: ${(error as Error).message}`;
  }
  return { name: 'nginx', version: v, pid: child.pid, origins, stop };
}
