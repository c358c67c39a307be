import { connect } from 'node:net';

/** Where a {@link ConnectProbe} dials: an endpoint's host and TCP port. */
export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * Tries one TCP connection to `target`: resolves true when it was accepted
 * within `timeoutMs`, false otherwise. It must not reject and must free its
 * socket at once. The mesh uses it to end an ejection early when the
 * endpoint was ejected for refused connects (`outlier-detector.ts`).
 */
export type ConnectProbe = (target: ConnectTarget, timeoutMs: number) => Promise<boolean>;

/**
 * The schedule of connect probes, which outlier detection runs on an endpoint
 * ejected for connect failures (`docs/outlier-detection.md`). The first probe
 * waits `firstDelayMs × 2^(timesEjected − 1)` after the ejection, so an
 * endpoint that keeps coming back and failing is probed later each time (the
 * shape of Envoy's ejection time); each failed probe doubles the wait, up to
 * `maxDelayMs`. Probing stops when the ejection time ends (its timer restores
 * the endpoint then anyway). Not configurable.
 */
export const CONNECT_PROBE = Object.freeze({
  /** The wait before the first probe of a first ejection, in milliseconds. */
  firstDelayMs: 500,
  /** The longest wait between probes, in milliseconds. */
  maxDelayMs: 5_000,
  /** How long one probe may take to connect, in milliseconds. */
  timeoutMs: 1_000,
});

/**
 * The default {@link ConnectProbe}: `net.connect` with a timeout. The socket
 * is unref'd (a probe never keeps the process alive) and destroyed as soon as
 * it connects, fails or times out; nothing is written to it. For a TLS
 * endpoint this is a plain TCP connect, no handshake: it answers "does the
 * port accept connections again", which is what a refused connect asked.
 */
export const tcpConnectProbe: ConnectProbe = (target, timeoutMs) =>
  new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, timeout: timeoutMs });
    socket.unref();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.on('error', () => done(false));
  });
