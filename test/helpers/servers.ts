import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A loopback HTTP server started by a test, with a request log. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Every request received, in order. */
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  /** Stops accepting and destroys every open socket. */
  close(): Promise<void>;
}

export type TestHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

/** Starts an HTTP server on 127.0.0.1 with a random port. The default handler answers 200 with its name. */
export async function startServer(name: string, handler?: TestHandler, port = 0): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler) void handler(req, res, body);
      else res.end(name);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Starts `n` servers named `${prefix}0`, `${prefix}1`, ... */
export function startServers(n: number, prefix = 's', handler?: TestHandler): Promise<TestServer[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startServer(`${prefix}${i}`, handler)));
}
