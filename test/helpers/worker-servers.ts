import { Worker } from 'node:worker_threads';

/** Loopback servers on a worker thread, with request counts per server. */
export interface WorkerServers {
  readonly urls: string[];
  /** Requests received per server since the last call (then resets them). */
  takeCounts(): Promise<number[]>;
  close(): Promise<void>;
}

const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { n, delays } = workerData;
let counts = new Array(n).fill(0);
const servers = counts.map((_, i) => http.createServer((req, res) => {
  counts[i]++;
  req.resume();
  req.on('end', () => {
    if (delays[i] > 0) setTimeout(() => res.end('s' + i), delays[i]);
    else res.end('s' + i);
  });
}));
Promise.all(servers.map((s) => new Promise((r) => s.listen(0, '127.0.0.1', r)))).then(() => {
  parentPort.postMessage({ ports: servers.map((s) => s.address().port) });
});
parentPort.on('message', (m) => {
  if (m === 'counts') {
    parentPort.postMessage({ counts });
    counts = new Array(n).fill(0);
  }
  if (m === 'close') {
    for (const s of servers) s.closeAllConnections();
    Promise.all(servers.map((s) => new Promise((r) => s.close(r)))).then(() => parentPort.postMessage({ closed: true }));
  }
});
`;

/**
 * Starts `delaysMs.length` HTTP servers on 127.0.0.1 in a worker thread;
 * server i answers after `delaysMs[i]` milliseconds. The servers have their
 * own event loop, so a client measuring latency in the main thread is not
 * slowed by serving its own requests (useful on small, shared machines).
 */
export async function startWorkerServers(delaysMs: readonly number[]): Promise<WorkerServers> {
  const worker = new Worker(CODE, { eval: true, workerData: { n: delaysMs.length, delays: [...delaysMs] } });
  const next = <T>() => new Promise<T>((resolve) => worker.once('message', resolve));
  const { ports } = await next<{ ports: number[] }>();
  return {
    urls: ports.map((port) => `http://127.0.0.1:${port}`),
    async takeCounts() {
      worker.postMessage('counts');
      return (await next<{ counts: number[] }>()).counts;
    },
    async close() {
      worker.postMessage('close');
      await next();
      await worker.terminate();
    },
  };
}
