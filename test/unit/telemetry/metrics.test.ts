import { metrics } from '@opentelemetry/api';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_DURATION_BUCKETS, MeshClient } from '../../../src/index.js';
import { Metrics, TupleCache } from '../../../src/telemetry/otel-metrics.js';
import { memoryMetrics } from '../../helpers/otel.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** Data points of a metric as [attributes, value] pairs (sums and gauges) or [attributes, count] (histograms). */
function points(metric: MetricData | undefined): [Record<string, unknown>, unknown][] {
  if (!metric) return [];
  return metric.dataPoints.map((p) => [
    p.attributes,
    metric.dataPointType === DataPointType.HISTOGRAM ? (p.value as { count: number }).count : p.value,
  ]);
}

describe('metrics', () => {
  let server: TestServer;
  let slow: TestServer;
  let closedPort: number;
  const parked: (() => void)[] = [];
  beforeAll(async () => {
    server = await startServer('s0', (req, res) => {
      res.statusCode = req.url === '/fail' ? 503 : 200;
      res.end();
    });
    slow = await startServer('slow', (_req, res) => {
      parked.push(() => res.end());
    });
    const gone = await startServer('gone');
    closedPort = gone.port;
    await gone.close();
  });
  afterAll(async () => {
    await server.close();
    await slow.close();
  });
  afterEach(() => metrics.disable());

  it('records http.client.request.duration per attempt with the advised buckets and the convention’s attributes', async () => {
    const { provider, reader } = memoryMetrics();
    const mesh = new MeshClient({
      // One attempt per request: this test checks per-attempt attributes, not retries.
      defaults: { retry: false },
      services: { orders: { endpoints: [server.url] }, dead: { endpoints: [`http://127.0.0.1:${closedPort}`] } },
      telemetry: { meterProvider: provider },
    });
    for (const path of ['/a', '/fail', '/b']) await (await mesh.request(`http://orders${path}`)).body.text();
    await mesh.request('http://dead/x').catch(() => undefined);
    const m = await reader.metrics();

    const duration = m.get('http.client.request.duration')!;
    expect(duration.descriptor.unit).toBe('s');
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    for (const p of duration.dataPoints) {
      expect((p.value as { buckets: { boundaries: number[] } }).buckets.boundaries).toEqual(HTTP_DURATION_BUCKETS);
    }
    const base = { 'http.request.method': 'GET', 'server.address': '127.0.0.1', 'proxyless.service': 'orders', 'server.port': server.port };
    expect(points(duration)).toEqual([
      [{ ...base, 'http.response.status_code': 200, 'network.protocol.version': '1.1' }, 2],
      [{ ...base, 'http.response.status_code': 503, 'network.protocol.version': '1.1', 'error.type': '503' }, 1],
      [{ ...base, 'proxyless.service': 'dead', 'server.port': closedPort, 'error.type': 'ECONNREFUSED' }, 1],
    ]);

    expect(points(m.get('proxyless.requests'))).toEqual([
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'success' }, 2],
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'server_error' }, 1],
      [{ 'proxyless.service': 'dead', 'http.request.method': 'GET', 'proxyless.outcome': 'failure', 'error.type': 'MESH_UPSTREAM_FAILURE' }, 1],
    ]);
    expect(m.get('proxyless.request.duration')!.descriptor.unit).toBe('s');
    expect(points(m.get('proxyless.endpoints.usable'))).toEqual([
      [{ 'proxyless.service': 'orders' }, 1],
      [{ 'proxyless.service': 'dead' }, 1],
    ]);
    expect(points(m.get('proxyless.endpoint.changes'))).toEqual([
      [{ 'proxyless.service': 'orders', 'proxyless.change': 'added' }, 1],
      [{ 'proxyless.service': 'dead', 'proxyless.change': 'added' }, 1],
    ]);
    expect(points(m.get('proxyless.config.updates'))).toEqual([[{ 'proxyless.outcome': 'applied' }, 1]]);
    expect(points(m.get('proxyless.observer.errors'))).toEqual([[{}, 0]]);
    // Opt-in only.
    expect(m.has('http.client.active_requests')).toBe(false);

    await mesh.close();
  });

  it('reports http.client.active_requests per endpoint when asked', async () => {
    const { provider, reader } = memoryMetrics();
    const mesh = new MeshClient({ services: { slow: { endpoints: [slow.url] } }, telemetry: { meterProvider: provider, activeRequests: true } });
    const pending = mesh.request('http://slow/x');
    while (parked.length === 0) await new Promise((r) => setTimeout(r, 5));
    const attrs = { 'server.address': '127.0.0.1', 'server.port': slow.port, 'url.scheme': 'http', 'proxyless.service': 'slow' };
    expect(points((await reader.metrics()).get('http.client.active_requests'))).toEqual([[attrs, 1]]);
    parked.shift()!();
    await (await pending).body.text();
    expect(points((await reader.metrics()).get('http.client.active_requests'))).toEqual([[attrs, 0]]);
    await mesh.close();
  });

  it('records nothing without an SDK and picks up a global one registered later', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [server.url] } } });
    await (await mesh.request('http://orders/before')).body.text();
    const { provider, reader } = memoryMetrics();
    metrics.setGlobalMeterProvider(provider);
    await (await mesh.request('http://orders/after')).body.text();
    const m = await reader.metrics();
    expect(points(m.get('proxyless.requests'))).toEqual([
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'success' }, 1],
    ]);
    expect(points(m.get('http.client.request.duration')).map(([, count]) => count)).toEqual([1]);
    await mesh.close();
  });

  it('counts every mesh event other components raise', async () => {
    const { provider, reader } = memoryMetrics();
    const state = {
      observerErrors: 2,
      services: {
        orders: {
          usableEndpoints: 1,
          endpoints: [{ url: 'http://10.0.0.1:80' }, { url: 'http://10.0.0.2:80' }],
          resilience: { retryBudget: { available: 7, withdrawn: 3 } },
        },
      },
    };
    let reads = 0;
    const read = () => {
      reads++;
      return state;
    };
    const m = new Metrics({ enabled: true, activeRequests: false, meterProvider: provider, read });
    expect(m.active).toBe(true);
    const base = { service: 'orders', time: 0 };
    const e1 = 'http://10.0.0.1:80';
    m.metric({ ...base, type: 'retry', reason: 'gateway-error', delayMs: 10, attempt: 1 });
    m.metric({ ...base, type: 'retry', reason: 'gateway-error', delayMs: 20, attempt: 2 });
    m.metric({ ...base, type: 'retry-budget-exhausted' });
    m.metric({ ...base, type: 'retry-refused', reason: 'non-idempotent' });
    m.metric({ ...base, type: 'hedge', endpoint: e1 });
    m.metric({ ...base, type: 'rejected', reason: 'MESH_BULKHEAD_REJECTED' });
    m.metric({ ...base, type: 'discovery-update', provider: 'file', endpoints: 2 });
    m.metric({ ...base, type: 'discovery-error', provider: 'dns', error: 'ENOTFOUND' });
    m.health({ ...base, type: 'endpoint-ejected', endpoint: e1, reason: '5 consecutive 5xx' });
    m.health({ ...base, type: 'circuit-open', endpoint: e1 });
    m.health({ ...base, type: 'circuit-half-open', endpoint: e1 });
    m.health({ ...base, type: 'circuit-open' });
    m.health({ ...base, type: 'panic', usable: 1, total: 2 });
    m.health({ ...base, type: 'endpoint-unhealthy', endpoint: e1 });
    m.health({ ...base, type: 'peer-identity-rejected', endpoint: e1, reason: 'spiffe://other/x is not allowed' });
    m.health({ ...base, type: 'tls-updated', reason: 'generation 2' });
    m.health({ ...base, type: 'tls-update-rejected', reason: 'bad key' });
    const got = await reader.metrics();
    const svc = { 'proxyless.service': 'orders' };
    expect(points(got.get('proxyless.retries'))).toEqual([[{ ...svc, 'proxyless.reason': 'gateway-error' }, 2]]);
    expect(points(got.get('proxyless.retries.refused'))).toEqual([
      [{ ...svc, 'proxyless.reason': 'budget' }, 1],
      [{ ...svc, 'proxyless.reason': 'non-idempotent' }, 1],
    ]);
    expect(points(got.get('proxyless.hedges'))).toEqual([[svc, 1]]);
    expect(points(got.get('proxyless.rejected'))).toEqual([[{ ...svc, 'proxyless.reason': 'MESH_BULKHEAD_REJECTED' }, 1]]);
    expect(points(got.get('proxyless.discovery.updates'))).toEqual([[{ ...svc, 'proxyless.discovery.provider': 'file' }, 1]]);
    expect(points(got.get('proxyless.discovery.errors'))).toEqual([
      [{ ...svc, 'proxyless.discovery.provider': 'dns', 'error.type': 'ENOTFOUND' }, 1],
    ]);
    expect(points(got.get('proxyless.endpoint.ejections'))).toEqual([[{ ...svc, 'proxyless.endpoint': e1 }, 1]]);
    expect(points(got.get('proxyless.circuit.transitions'))).toEqual([
      [{ ...svc, 'proxyless.circuit.state': 'open', 'proxyless.endpoint': e1 }, 1],
      [{ ...svc, 'proxyless.circuit.state': 'half-open', 'proxyless.endpoint': e1 }, 1],
      [{ ...svc, 'proxyless.circuit.state': 'open' }, 1],
    ]);
    expect(points(got.get('proxyless.circuit.state'))).toEqual([
      [{ ...svc, 'proxyless.endpoint': e1 }, 1],
      [svc, 2],
    ]);
    expect(points(got.get('proxyless.panics'))).toEqual([[svc, 1]]);
    expect(points(got.get('proxyless.endpoint.health_changes'))).toEqual([[{ ...svc, 'proxyless.endpoint': e1, 'proxyless.health': 'unhealthy' }, 1]]);
    expect(points(got.get('proxyless.retry_budget.remaining'))).toEqual([[svc, 7]]);
    expect(points(got.get('proxyless.peer_identity.rejected'))).toEqual([[{ ...svc, 'proxyless.endpoint': e1 }, 1]]);
    expect(points(got.get('proxyless.tls.updates'))).toEqual([
      [{ ...svc, 'proxyless.outcome': 'applied' }, 1],
      [{ ...svc, 'proxyless.outcome': 'rejected' }, 1],
    ]);
    expect(points(got.get('proxyless.endpoints'))).toEqual([[svc, 2]]);
    expect(points(got.get('proxyless.observer.errors'))).toEqual([[{}, 2]]);
    expect(reads).toBe(1);
    // Closing unregisters the observable callback and stops recording.
    m.close();
    expect(m.active).toBe(false);
    await reader.metrics();
    expect(reads).toBe(1);
  });

  it('counts proxyless.requests as a cumulative monotonic sum, with the SDK’s overflow set past 2,000 attribute sets', async () => {
    const { provider, reader } = memoryMetrics();
    const m = new Metrics({ enabled: true, activeRequests: false, meterProvider: provider, read: () => ({ observerErrors: 0, services: {} }) });
    const request = (service: string, extra: { status?: number; error?: string; egress?: boolean } = {}) => {
      const outcome = extra.error !== undefined ? 'failure' : (extra.status ?? 200) >= 500 ? 'server_error' : 'success';
      m.metric({ type: 'request', service, time: 0, method: 'get', outcome, durationMs: 4, attempts: 1, ...extra });
    };
    request('orders', { status: 200 });
    request('orders', { status: 503 });
    request('api.example.com', { status: 200, egress: true });
    let got = await reader.metrics();
    const requests = got.get('proxyless.requests')!;
    expect(requests.dataPointType).toBe(DataPointType.SUM);
    expect((requests as { isMonotonic?: boolean }).isMonotonic).toBe(true);
    expect(points(requests)).toEqual([
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'success' }, 1],
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'server_error' }, 1],
      [{ 'proxyless.service': 'api.example.com', 'http.request.method': 'GET', 'proxyless.outcome': 'success', 'proxyless.egress': true }, 1],
    ]);
    // The duration histogram records with the same attribute sets, one measurement per request.
    expect(points(got.get('proxyless.request.duration'))).toEqual(points(requests));

    // Cumulative: a second collection still holds the first one's counts.
    request('orders', { status: 200 });
    request('orders', { error: 'MESH_TIMEOUT' });
    got = await reader.metrics();
    expect(points(got.get('proxyless.requests'))).toEqual([
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'success' }, 2],
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'server_error' }, 1],
      [{ 'proxyless.service': 'api.example.com', 'http.request.method': 'GET', 'proxyless.outcome': 'success', 'proxyless.egress': true }, 1],
      [{ 'proxyless.service': 'orders', 'http.request.method': 'GET', 'proxyless.outcome': 'failure', 'error.type': 'MESH_TIMEOUT' }, 1],
    ]);

    // Unbounded attribute values (here: 2,100 hosts) are capped: nothing is lost, the excess is counted in the overflow set.
    for (let i = 0; i < 2100; i++) request(`host-${i}.example.com`, { status: 200, egress: true });
    const capped = points((await reader.metrics()).get('proxyless.requests'));
    expect(capped.reduce((sum, [, v]) => sum + (v as number), 0)).toBe(5 + 2100);
    const overflow = capped.filter(([attrs]) => attrs['otel.metric.overflow'] === true);
    // 1,999 sets of their own (the 4 above and 1,995 hosts) and the overflow set: the SDK's limit of 2,000.
    expect(capped).toHaveLength(2000);
    expect(overflow).toEqual([[{ 'otel.metric.overflow': true }, 2100 - 1995]]);
    m.close();
  });

  it('is inactive without an SDK or when disabled', () => {
    const read = () => ({ observerErrors: 0, services: {} });
    expect(new Metrics({ enabled: true, activeRequests: false, read }).active).toBe(false);
    const { provider } = memoryMetrics();
    expect(new Metrics({ enabled: false, activeRequests: false, meterProvider: provider, read }).active).toBe(false);
  });
});

describe('TupleCache (the attribute-set lookup of the request path)', () => {
  it('tells keys apart by every part, undefined from empty, and counts what it holds', () => {
    const cache = new TupleCache<string>();
    const key = ['http://a:1', 'GET', 200, undefined, 'orders'] as const;
    cache.set(...key, 'base');
    // Each part on its own makes another key: a lookup that ignored one would hand out another set's attributes.
    const others: [string, string | number | boolean | undefined][] = [
      ['a', 'http://b:1'],
      ['b', 'POST'],
      ['c', 503],
      ['d', 'ECONNREFUSED'],
      ['e', 'users'],
    ];
    for (const [i, [name, value]] of others.entries()) {
      const other = [...key] as [string, string, number, string | undefined, string];
      (other as unknown[])[i] = value;
      expect(cache.get(...other), `part ${name}`).toBeUndefined();
      cache.set(...other, name);
      expect(cache.get(...other)).toBe(name);
    }
    expect(cache.get(...key)).toBe('base');
    expect(cache.get('http://a:1', 'GET', 200, '', 'orders')).toBeUndefined();
    expect(cache.size).toBe(6);
    // Setting a held key again replaces its value without counting it twice.
    cache.set(...key, 'again');
    expect([cache.get(...key), cache.size]).toEqual(['again', 6]);
    cache.clear();
    expect([cache.get(...key), cache.size]).toEqual([undefined, 0]);
  });
});
