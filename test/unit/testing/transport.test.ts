import type { Dispatcher } from 'undici';
import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { ScriptedTransport, type TransportHost } from '../../../src/testing/endpoint-transport.js';
import { decideFault } from '../../../src/testing/faults.js';
import { ScriptedEndpoint, type EndpointCall } from '../../../src/testing/scripted-endpoint.js';
import { TestClock } from '../../../src/testing/test-clock.js';

function setup() {
  const clock = new TestClock();
  const calls: EndpointCall[] = [];
  const endpoint = new ScriptedEndpoint('http://10.0.0.1:8080', { now: () => clock.now(), serviceFaults: () => undefined }, () => 0.5);
  const host: TransportHost = {
    clock,
    agent: new MockAgent(),
    newCall: (e, fields) => {
      const call: EndpointCall = { seq: calls.length + 1, service: 's', endpoint: e.url, ...fields, body: undefined, time: clock.now(), outcome: undefined };
      calls.push(call);
      e.record(call);
      return call;
    },
    decideFault: (_url, spec) => decideFault(spec, () => 0.5),
  };
  return { clock, endpoint, calls, transport: new ScriptedTransport(endpoint, host) };
}

const opts = { origin: 'http://10.0.0.1:8080', path: '/p', method: 'GET', headers: { 'x-a': '1' } } as Dispatcher.DispatchOptions;

describe('ScriptedTransport', () => {
  it('speaks the v2 handler API (undici 8 mocks), including pause and resume', async () => {
    const { clock, endpoint, transport } = setup();
    endpoint.reply(200, 'body', { headers: { 'x-b': '2' } });
    const seen: string[] = [];
    let controller: Dispatcher.DispatchController | undefined;
    const handler = {
      onRequestStart(c: Dispatcher.DispatchController) {
        controller = c;
        seen.push('start');
      },
      onResponseStart(c: Dispatcher.DispatchController, status: number, headers: Record<string, string>) {
        seen.push(`headers ${status} ${headers['x-b']} ${headers['content-length']}`);
        c.pause();
      },
      onResponseData(_c: unknown, chunk: Buffer) {
        seen.push(`data ${chunk.toString()}`);
      },
      onResponseEnd() {
        seen.push('end');
      },
      onResponseError(_c: unknown, e: Error) {
        seen.push(`error ${e.message}`);
      },
    };
    transport.dispatch(opts, handler as unknown as Dispatcher.DispatchHandler);
    await clock.settle();
    expect(seen).toEqual(['start', 'headers 200 2 4']);
    controller!.resume();
    expect(seen).toEqual(['start', 'headers 200 2 4', 'data body', 'end']);
  });

  it('speaks the legacy API: onHeaders returning false waits for resume; abort during a delay reports the reason', async () => {
    const { clock, endpoint, transport, calls } = setup();
    endpoint.reply(200, 'x');
    const seen: string[] = [];
    let resume: (() => void) | undefined;
    const legacy = {
      onConnect() {
        seen.push('connect');
      },
      onHeaders(status: number, _raw: Buffer[], r: () => void) {
        seen.push(`headers ${status}`);
        resume = r;
        return false;
      },
      onData(chunk: Buffer) {
        seen.push(`data ${chunk.toString()}`);
        return true;
      },
      onComplete() {
        seen.push('complete');
      },
      onError(e: Error) {
        seen.push(`error ${e.message}`);
      },
    };
    transport.dispatch(opts, legacy as unknown as Dispatcher.DispatchHandler);
    await clock.settle();
    expect(seen).toEqual(['connect', 'headers 200']);
    resume!();
    expect(seen).toEqual(['connect', 'headers 200', 'data x', 'complete']);

    endpoint.reply(200, 'late', { delayMs: 100 });
    let abort: ((e?: Error) => void) | undefined;
    const aborted: string[] = [];
    transport.dispatch(opts, {
      onConnect(a: (e?: Error) => void) {
        abort = a;
      },
      onHeaders() {
        aborted.push('headers');
        return true;
      },
      onError(e: Error) {
        aborted.push(`error ${e.message}`);
      },
    } as unknown as Dispatcher.DispatchHandler);
    await clock.settle();
    abort!(new Error('per-try timeout'));
    await clock.advance(100);
    expect(aborted).toEqual(['error per-try timeout']);
    expect(calls.map((c) => [c.path, c.headers, c.outcome])).toEqual([
      ['/p', { 'x-a': '1' }, '200'],
      ['/p', { 'x-a': '1' }, 'aborted'],
    ]);
    expect(clock.pendingTimers).toBe(0);
  });
});
