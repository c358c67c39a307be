/**
 * The loopback target of the side-by-side benchmark, run as its own process
 * (pinned by main.ts to the other core where there is one). It serves one
 * set of `endpoints` ports per profile and prints their ports as one JSON
 * line on stdout; it exits when stdin closes (the parent went away).
 *
 * Profiles:
 * - `small`: 1 KiB body, answered at once (per-request overhead).
 * - `undici`: 64 KiB body after a 1 ms delay (undici's own benchmark method).
 * - `flaky`: 1 KiB body; 30% of requests fail: 2 in 10 answer 503, 1 in 10
 *   has its socket destroyed before any response (a reset).
 *
 * Usage: node --import tsx target.ts <endpoints>
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TargetPorts {
  small: number[];
  undici: number[];
  flaky: number[];
}

type Handle = (req: IncomingMessage, res: ServerResponse) => void;

const SMALL = Buffer.alloc(1024, 'a');
const LARGE = Buffer.alloc(64 * 1024, 'b');
const HEADERS_SMALL = { 'content-type': 'application/octet-stream', 'content-length': String(SMALL.length) };
const HEADERS_LARGE = { 'content-type': 'application/octet-stream', 'content-length': String(LARGE.length) };

// Request bodies are never sent by the bench; `resume()` drains them anyway.
const small: Handle = (req, res) => {
  req.resume();
  res.writeHead(200, HEADERS_SMALL);
  res.end(SMALL);
};

const undici: Handle = (req, res) => {
  req.resume();
  setTimeout(() => {
    res.writeHead(200, HEADERS_LARGE);
    res.end(LARGE);
  }, 1);
};

let flakyCount = 0;
const flaky: Handle = (req, res) => {
  req.resume();
  const n = flakyCount++ % 10;
  if (n === 3) {
    req.socket.destroy();
    return;
  }
  if (n === 1 || n === 7) {
    res.writeHead(503, HEADERS_SMALL);
    res.end(SMALL);
    return;
  }
  res.writeHead(200, HEADERS_SMALL);
  res.end(SMALL);
};

async function listen(handle: Handle): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
  return server;
}

async function main(): Promise<void> {
  const endpoints = Number(process.argv[2] ?? '4');
  const servers: Server[] = [];
  const ports: TargetPorts = { small: [], undici: [], flaky: [] };
  for (const [name, handle] of [
    ['small', small],
    ['undici', undici],
    ['flaky', flaky],
  ] as const) {
    for (let i = 0; i < endpoints; i++) {
      const server = await listen(handle);
      servers.push(server);
      ports[name].push((server.address() as AddressInfo).port);
    }
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  const stop = () => {
    for (const s of servers) s.closeAllConnections();
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

void main();
