/**
 * The metrics service (prom-client): HTTP requests by route template, method and status; request
 * latency; open long-polls; the Rhizome store and keyring figures, read when scraped; Node's own
 * process metrics (CPU, memory, descriptors, garbage collection, event-loop delay).
 *
 * Routes are labelled by their pattern in the route table (`/restful/rhizome/{bid}/raw.bin`), never
 * by the path a client sent, so the number of series stays bounded whatever clients ask for.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsService } from './types.js';

export interface MetricsInit {
  readonly version: string;
  /** Figures read at each scrape. */
  readonly bundles: () => { bundles: number; bytes: number };
  readonly unlockedIdentities: () => number;
}

/** Long-polls (newsince, MeshMB activity) are open for up to a minute by design: counted, not timed. */
export function isLongPoll(route: string): boolean {
  return /\/newsince\/|\/activity\/.*activity\.json$/.test(route);
}

/** `{bid:hex64}` → `{bid}`, as the OpenAPI document writes paths. */
const template = (route: string): string => route.replace(/\{(\w+):\w+\}/g, '{$1}');

/**
 * Node's process metrics, collected once per process: prom-client's collectors (an event-loop
 * delay histogram, a garbage-collection observer) cannot be stopped, so they are not made again
 * for every node a process starts (tests start hundreds).
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 20 });
  }
  return processRegistry;
}

export function createMetrics(init: MetricsInit): MetricsService {
  const registry = new Registry();
  const shared = processMetrics();
  new Gauge({ name: 'tendril_build_info', help: 'The Tendril version running', labelNames: ['version'], registers: [registry] }).set({ version: init.version }, 1);
  const requests = new Counter({
    name: 'tendril_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tendril_http_request_duration_seconds',
    help: 'Time from request to the end of its answer, by route template (long-polls excluded)',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const longPolls = new Gauge({
    name: 'tendril_newsince_clients',
    help: 'Long-polls (newsince, MeshMB activity) open now',
    registers: [registry],
  });
  new Gauge({
    name: 'tendril_rhizome_bundles',
    help: 'Bundles in the Rhizome store',
    registers: [registry],
    collect() {
      this.set(init.bundles().bundles);
    },
  });
  new Gauge({
    name: 'tendril_rhizome_store_bytes',
    help: 'Bytes the Rhizome store uses (database and payload files)',
    registers: [registry],
    collect() {
      this.set(init.bundles().bytes);
    },
  });
  new Gauge({
    name: 'tendril_keyring_unlocked_identities',
    help: 'Identities unlocked in the keyring',
    registers: [registry],
    collect() {
      this.set(init.unlockedIdentities());
    },
  });
  // Label objects are made once per route and status, not per request.
  const labels = new Map<string, { route: string; method: string; status: string }>();
  return {
    registry,
    contentType: registry.contentType,
    started(route) {
      if (isLongPoll(route)) longPolls.inc();
    },
    completed(route, method, status, seconds) {
      const key = `${route ?? ''} ${method} ${status}`;
      let l = labels.get(key);
      if (!l) {
        l = { route: route === undefined ? 'unmatched' : template(route), method: route === undefined ? 'other' : method, status: String(status) };
        labels.set(key, l);
      }
      requests.inc(l);
      if (route !== undefined && isLongPoll(route)) longPolls.dec();
      else duration.observe({ route: l.route, method: l.method }, seconds);
    },
    text: async () => `${await registry.metrics()}\n${await shared.metrics()}`,
    stop: () => registry.clear(),
  };
}
