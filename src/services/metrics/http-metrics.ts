/**
 * The per-request figures, counted with as little work per request as possible: counting is on the
 * path of every request, and prom-client's own Counter and Histogram hash their label objects on
 * every increment (that cost measured a fifth of a small request). Here a request is two map
 * lookups and a few additions on a series made once per route and method; the values are turned
 * into Prometheus samples only when /metrics is scraped, by metric objects the registry reads.
 */
import type { Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  readonly route: string;
  readonly method: string;
  readonly longPoll: boolean;
  /** Requests by status. */
  readonly statuses: Map<number, number>;
  /** Non-cumulative counts per bucket; the last is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** A metric the registry can read (prom-client's `get()` protocol for custom collectors). */
interface Collected {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram' | 'gauge';
  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: 'sum' };
  reset(): void;
}

/** Long-polls (newsince, MeshMB activity) are open for up to a minute by design: counted, not timed. */
export function isLongPoll(route: string): boolean {
  return /\/newsince\/|\/activity\/.*activity\.json$/.test(route);
}

/** `{bid:hex64}` → `{bid}`, as the OpenAPI document writes paths. */
const template = (route: string): string => route.replace(/\{(\w+):\w+\}/g, '{$1}');

export interface HttpMetrics {
  started(this: void, route: string): void;
  completed(this: void, route: string | undefined, method: string, status: number, seconds: number): void;
}

export function httpMetrics(registry: Registry): HttpMetrics {
  const byRoute = new Map<string, Map<string, Series>>();
  const longPollRoutes = new Map<string, boolean>();
  let openLongPolls = 0;

  const seriesOf = (route: string | undefined, method: string): Series => {
    const key = route ?? '';
    let methods = byRoute.get(key);
    if (!methods) byRoute.set(key, (methods = new Map<string, Series>()));
    // Requests that matched no route share one series whatever their method or path, so clients
    // cannot make new series.
    const m = route === undefined ? 'other' : method;
    let s = methods.get(m);
    if (!s) {
      s = { route: route === undefined ? 'unmatched' : template(route), method: m, longPoll: route !== undefined && isLongPoll(route), statuses: new Map(), buckets: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 };
      methods.set(m, s);
    }
    return s;
  };
  const all = (): Series[] => [...byRoute.values()].flatMap((m) => [...m.values()]);

  const metric = (name: string, help: string, type: Collected['type'], values: () => Sample[]): void => {
    const collected: Collected = { name, help, type, get: () => ({ name, help, type, values: values(), aggregator: 'sum' }), reset: () => undefined };
    registry.registerMetric(collected as unknown as Parameters<Registry['registerMetric']>[0]);
  };
  metric('tendril_http_requests_total', 'HTTP requests answered, by route template, method and status', 'counter', () =>
    all().flatMap((s) => [...s.statuses].map(([status, value]) => ({ value, labels: { route: s.route, method: s.method, status } }))),
  );
  metric('tendril_http_request_duration_seconds', 'Time from request to the end of its answer, by route template (long-polls excluded)', 'histogram', () =>
    all()
      .filter((s) => s.count > 0)
      .flatMap((s) => {
        const labels = { route: s.route, method: s.method };
        let cumulative = 0;
        const buckets = [...BUCKETS, '+Inf' as const].map((le, i) => {
          cumulative += s.buckets[i]!;
          return { value: cumulative, labels: { ...labels, le }, metricName: 'tendril_http_request_duration_seconds_bucket' };
        });
        return [
          ...buckets,
          { value: s.sum, labels, metricName: 'tendril_http_request_duration_seconds_sum' },
          { value: s.count, labels, metricName: 'tendril_http_request_duration_seconds_count' },
        ];
      }),
  );
  metric('tendril_newsince_clients', 'Long-polls (newsince, MeshMB activity) open now', 'gauge', () => [{ value: openLongPolls, labels: {} }]);

  return {
    started(route) {
      let longPoll = longPollRoutes.get(route);
      if (longPoll === undefined) longPollRoutes.set(route, (longPoll = isLongPoll(route)));
      if (longPoll) openLongPolls++;
    },
    completed(route, method, status, seconds) {
      const s = seriesOf(route, method);
      s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
      if (s.longPoll) {
        openLongPolls--;
        return;
      }
      let i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
      s.buckets[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}
