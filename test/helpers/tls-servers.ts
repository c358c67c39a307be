import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';

/** A loopback HTTPS server started by a test, with a request log. */
export interface TestTlsServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Every request received: its headers and the client certificate's fingerprint (or null). */
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers']; peer: string | null }[];
  close(): Promise<void>;
}

/** Answers with the server's name unless a handler is given. */
export type TestTlsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts an HTTPS server on 127.0.0.1 with a random port. */
export async function startTlsServer(name: string, options: ServerOptions, handler?: TestTlsHandler): Promise<TestTlsServer> {
  const requests: TestTlsServer['requests'] = [];
  const sockets = new Set<Socket>();
  const server = createServer(options, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      peer: peer && Object.keys(peer).length > 0 ? peer.fingerprint256 : null,
    });
    req.resume();
    req.on('end', () => {
      if (handler) handler(req, res);
      else res.end(name);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Handshake failures are the subject of some tests: keep them quiet.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
