/**
 * The node's metrics, for Prometheus (GET /metrics). One registry per node: the HTTP layer reports
 * each request here, and any service registers its own figures on `registry` (a sync service adds
 * its peers and transfers beside the Rhizome figures; see docs/observability.md).
 */
import type { Registry } from 'prom-client';

export interface RequestObserver {
  /** A request matched `route` (the route table's pattern), before its handler runs. */
  started(this: void, route: string): void;
  /** A request ended: its route pattern (undefined when none matched), method, status and duration. */
  completed(this: void, route: string | undefined, method: string, status: number, seconds: number): void;
}

export interface MetricsService extends RequestObserver {
  /** Where services register their metrics (prom-client: `registers: [metrics.registry]`). */
  readonly registry: Registry;
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>;
  readonly contentType: string;
  stop(): void;
}
