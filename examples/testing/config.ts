// The application's production mesh configuration, shared by the example tests:
// the test kit takes it as it is and swaps only the transport, the clock and the random source.
import type { MeshClientOptions } from 'proxyless';

export const productionConfig: MeshClientOptions = {
  services: {
    orders: {
      endpoints: [
        { url: 'http://10.1.0.1:8080', labels: { version: 'v1' } },
        { url: 'http://10.1.0.2:8080', labels: { version: 'v1' } },
        { url: 'http://10.1.0.3:8080', labels: { version: 'v2' } },
      ],
      routes: [
        // Testers opt in to the canary; everyone else gets a 90/10 release split.
        { name: 'testers', match: { headers: { 'x-canary': 'yes' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
        { name: 'release', split: [{ subset: { version: 'v1' }, weight: 90 }, { subset: { version: 'v2' }, weight: 10 }] },
      ],
    },
  },
  egress: 'deny',
};

// Retries and circuit breakers: payments retries resets on another endpoint; ledger has one
// endpoint behind a breaker (panic off, so an open breaker refuses instead of sending anyway).
export const resilientConfig: MeshClientOptions = {
  services: {
    payments: {
      endpoints: ['http://10.2.0.1:8080', 'http://10.2.0.2:8080'],
      retry: { attempts: 3, retryOn: ['connect-failure', 'reset', 'gateway-error'] },
    },
    ledger: {
      endpoints: ['http://10.3.0.1:8080'],
      retry: false,
      panicThreshold: 0,
      circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
      // Only the breaker decides here (outlier detection would also eject after 5 failures).
      outlierDetection: false,
    },
  },
};
