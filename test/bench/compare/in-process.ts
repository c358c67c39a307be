/**
 * An in-process stand-in for an endpoint's connection pool: answers every
 * request with 200 and a 1 KiB body on the next turn of the event loop
 * (`setImmediate`, as a socket read would arrive), without sockets.
 * The `pipeline` scenario runs the variants over it to measure the CPU the
 * client-side code itself costs per request, free of network and scheduling
 * noise (the other processes on the machine barely move it).
 *
 * It speaks undici 7's legacy handler API, like undici 7's MockAgent, so
 * mesh variants reach it through proxyless's `transport` bridge: the mesh's
 * figure therefore includes that bridge (an upper bound of the real path).
 */
import type { Dispatcher } from 'undici';
import type { VariantContext } from './variants.js';
import { UnownedDispatcher } from '../../../src/client/unowned-dispatcher.js';

const BODY = Buffer.alloc(1024, 'a');
const RAW_HEADERS = [
  Buffer.from('content-type'),
  Buffer.from('application/octet-stream'),
  Buffer.from('content-length'),
  Buffer.from(String(BODY.length)),
];

interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onHeaders?(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[]): void;
  onError?(error: Error): void;
}

const noop = () => {};
const run = (answer: Answer) => answer.run();
const NO_TRAILERS: string[] = [];

class Answer {
  aborted = false;
  constructor(readonly handler: LegacyHandler) {}
  readonly abort = () => {
    this.aborted = true;
  };
  run(): void {
    const h = this.handler;
    h.onConnect?.(this.abort);
    if (this.aborted) return;
    h.onHeaders?.(200, RAW_HEADERS, noop, 'OK');
    if (this.aborted) return;
    h.onData?.(BODY);
    if (this.aborted) return;
    h.onComplete?.(NO_TRAILERS);
  }
}

/** A dispatcher that answers at once; one per endpoint origin. */
export class InstantOrigin extends UnownedDispatcher {
  override dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const answer = new Answer(handler as unknown as LegacyHandler);
    // On the next turn of the event loop, as a socket read would: answering on a microtask kept a closed loop
    // inside one macrotask for a whole window, so the event loop never turned and the setImmediate that
    // undici's body schedules per request (with the request it holds) piled up: the heap grew by ~2 KB per
    // request and GC cost grew with the window, inflating and scattering every CPU figure.
    setImmediate(run, answer);
    return true;
  }
}

/** A transport function giving each origin its own {@link InstantOrigin}. */
export function instantTransport(): (origin: string) => Dispatcher {
  const byOrigin = new Map<string, InstantOrigin>();
  return (origin) => {
    let d = byOrigin.get(origin);
    if (!d) byOrigin.set(origin, (d = new InstantOrigin()));
    return d;
  };
}

/** The variant context of the in-process runs (cpu.ts, alloc.ts): 4 endpoint origins over {@link instantTransport}, no proxies. */
export function inProcessContext(): VariantContext {
  return {
    origins: Array.from({ length: 4 }, (_, i) => `http://127.0.0.1:${10_001 + i}`),
    path: '/',
    connections: 8,
    proxies: { haproxy: { unavailable: 'in process' }, nginx: { unavailable: 'in process' } },
    transport: instantTransport(),
  };
}
