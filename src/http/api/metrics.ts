/**
 * GET /metrics: the Prometheus text exposition (format 0.0.4) of the node's metrics. Behind the
 * same credentials as the API (a read-only token is enough); 404 when metrics are switched off.
 */
import { fail } from '../../errors.js';
import type { MetricsService } from '../../services/metrics/types.js';
import type { Handler } from '../types.js';

export function metricsHandler(metrics: MetricsService | undefined): Handler {
  return async () => {
    if (!metrics) fail('HTTP_NOT_FOUND');
    const text = Buffer.from(await metrics.text(), 'utf8');
    return { kind: 'body', status: 200, contentType: metrics.contentType, body: text, length: text.length, headers: { 'Cache-Control': 'no-store' } };
  };
}
