/** Process helpers: CPU time of other processes (Linux /proc), pinning, free ports, the loopback target. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TargetPorts } from './target.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Starts the loopback target (target.ts) in a child process, pinned to CPU 1 when asked; resolves with its ports. */
export async function startTarget(endpoints: number, pinned: boolean): Promise<{ child: ChildProcess; ports: TargetPorts }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'target.ts'), String(endpoints)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: resolve(HERE, '../../..'),
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolveLine(l);
    });
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
  if (pinned && child.pid !== undefined) pin(child.pid, 1);
  return { child, ports: JSON.parse(line) as TargetPorts };
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU time (user + system) used so far by process `pid`, in microseconds, or
 * undefined where /proc is not available. Resolution is one clock tick
 * (10 ms at 100 Hz), fine over windows of a second or more.
 */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) / clockTicks()) * 1e6;
  } catch {
    return undefined;
  }
}

/** True when `taskset` exists and there are at least two CPUs to split. */
export function canPin(): boolean {
  if (process.platform !== 'linux' || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of `pid` to `cpu`. Returns false when it could not. */
export function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether an executable is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
