/**
 * The metrics service (prom-client): HTTP requests by route template, method and status; request
 * latency; open long-polls; the Rhizome store and keyring figures, read when scraped; Node's own
 * process metrics (CPU, memory, descriptors, garbage collection, event-loop delay).
 *
 * Routes are labelled by their pattern in the route table (`/restful/rhizome/{bid}/raw.bin`), never
 * by the path a client sent, so the number of series stays bounded whatever clients ask for
 * (http-metrics.ts).
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { httpMetrics } from './http-metrics.js';
import type { MetricsService } from './types.js';

export interface MetricsInit {
  readonly version: string;
  /** Figures read at each scrape. */
  readonly bundles: () => Promise<{ bundles: number; bytes: number }>;
  readonly unlockedIdentities: () => number;
}

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
  const http = httpMetrics(registry);
  new Gauge({
    name: 'tendril_rhizome_bundles',
    help: 'Bundles in the Rhizome store',
    registers: [registry],
    async collect() {
      this.set((await init.bundles()).bundles);
    },
  });
  new Gauge({
    name: 'tendril_rhizome_store_bytes',
    help: 'Bytes the Rhizome store uses (database and payload files)',
    registers: [registry],
    async collect() {
      this.set((await init.bundles()).bytes);
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
  return {
    registry,
    contentType: registry.contentType,
    started: http.started,
    completed: http.completed,
    text: async () => `${await registry.metrics()}\n${await shared.metrics()}`,
    stop: () => registry.clear(),
  };
}
