/**
 * Observability: /healthz answers without credentials and says nothing but "up"; /metrics is the
 * Prometheus text format (parsed here by a Prometheus text-format parser), behind the API's
 * credentials (a read-only token is enough), and its figures move with what the node does;
 * metrics.enable=0 and `--serve` turn it off or give it a listener of its own, embedded
 * and dedicated alike.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import { silentLogger } from '../../src/log.js';
import { startDedicatedServer } from '../../src/web/dedicated.js';
import { HARRY, request, startTestNode, type TestNode } from '../helpers/node.js';

const LIST = '/restful/keyring/identities.json';

/** The exposition, parsed (the parser throws on a line that is not the text format), and as text. */
async function scrape(port: number, auth: string | null = HARRY): Promise<Family[] & { text: string }> {
  const r = await request(port, 'GET', '/metrics', { auth });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return Object.assign(parsePrometheusTextFormat(r.text), { text: r.text });
}

/**
 * The `_count` of a histogram series. (The parser merges the series of a labelled histogram into
 * one, so this one figure is read from the sample line itself.)
 */
function histogramCount(scraped: { text: string }, name: string, route: string): number {
  const line = scraped.text.split('\n').find((l) => l.startsWith(`${name}_count{`) && l.includes(`route="${route}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function family(families: Family[], name: string): Family {
  const f = families.find((x) => x.name === name);
  assert.ok(f, `${name} is exposed`);
  return f;
}

/** The value of a counter or gauge sample whose labels include `labels` (0 when there is none yet). */
function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const sample = family(families, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample ? Number(sample.value) : 0;
}

describe('/healthz and /metrics', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(() => t.destroy());

  it('/healthz: 200 without credentials, and nothing beyond up', async () => {
    const r = await request(t.port, 'GET', '/healthz', { auth: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { http_status_code: 200, http_status_message: 'OK' });
  });

  it('/metrics needs credentials; a read-only token is enough', async () => {
    assert.equal((await request(t.port, 'GET', '/metrics', { auth: null })).status, 401);
    const { token } = await t.node.tokens.generate({ name: 'prometheus', readOnly: true });
    await scrape(t.port, `Bearer ${token}`);
  });

  it('parses as the Prometheus text format, and its counters, histograms and gauges move', async () => {
    const route = { route: LIST, method: 'GET', status: '200' };
    const before = await scrape(t.port);
    const count = (f: { text: string }): number => histogramCount(f, 'tendril_http_request_duration_seconds', LIST);
    for (let i = 0; i < 3; i++) assert.equal((await t.request('GET', LIST)).status, 200);
    assert.equal((await t.request('GET', LIST, { auth: null })).status, 401);
    assert.equal((await t.request('GET', '/restful/rhizome/nowhere')).status, 404);
    const add = await t.request('POST', '/restful/keyring/add');
    assert.equal(add.status, 201);
    const after = await scrape(t.port);
    assert.equal(value(after, 'tendril_http_requests_total', route) - value(before, 'tendril_http_requests_total', route), 3);
    assert.equal(value(after, 'tendril_http_requests_total', { ...route, status: '401' }) - value(before, 'tendril_http_requests_total', { ...route, status: '401' }), 1);
    assert.ok(value(after, 'tendril_http_requests_total', { route: 'unmatched', status: '404' }) >= 1, 'unknown paths share one label');
    assert.equal(count(after) - count(before), 4, 'the latency histogram counted them (the 401 too)');
    assert.equal(value(after, 'tendril_keyring_unlocked_identities'), value(before, 'tendril_keyring_unlocked_identities') + 1);
    for (const name of ['tendril_rhizome_bundles', 'tendril_rhizome_store_bytes', 'tendril_build_info', 'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes']) family(after, name);
    assert.equal(family(after, 'tendril_http_request_duration_seconds').type, 'HISTOGRAM');
    assert.ok(!family(after, 'tendril_http_requests_total').metrics.some((m) => m.labels?.route?.includes('nowhere')), 'no client path becomes a label');
  });

  it('counts newsince long-polls while they are open', async () => {
    // Long-polls of a second, so the test sees them end.
    const t = await startTestNode({ config: { 'api.restful.newsince_timeout': '1' } });
    const open = (): Promise<() => void> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: t.port, path: '/restful/rhizome/newsince/bundlelist.json', headers: { Authorization: HARRY } }, (res) => {
          res.once('data', () => resolve(() => req.destroy()));
        });
        req.on('error', () => undefined);
        req.once('error', reject);
        req.end();
      });
    const base = value(await scrape(t.port), 'tendril_newsince_clients');
    const closers = [await open(), await open()];
    assert.equal(value(await scrape(t.port), 'tendril_newsince_clients'), base + 2);
    let now = -1;
    for (let i = 0; i < 200 && now !== base; i++) {
      now = value(await scrape(t.port), 'tendril_newsince_clients');
      if (now !== base) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(now, base, 'ended long-polls are no longer counted');
    closers.forEach((close) => close());
    await t.destroy();
  });
});

describe('metrics switched off, or on a listener of their own', () => {
  it('metrics.enable=0: /metrics is 404 everywhere', async () => {
    const t = await startTestNode({ config: { 'metrics.enable': '0' } });
    try {
      assert.equal((await t.request('GET', '/metrics')).status, 404);
      assert.equal((await t.request('GET', '/healthz', { auth: null })).status, 200);
    } finally {
      await t.destroy();
    }
  });

  it('--serve=api leaves metrics out; --serve=metrics is a listener of their own; embedded and dedicated', async () => {
    const server = (serve: Array<'api' | 'metrics'>) => ({ mode: 'upstream' as const, bind: '127.0.0.1', port: 0, allowedOrigins: [], serve });
    const t = await startTestNode({ servers: [server(['api']), server(['metrics'])] });
    const [off, only] = t.node.state.urls.map((u) => Number(new URL(u).port));
    const dedicatedOff = await startDedicatedServer(t.paths, server(['api']), silentLogger(), 0);
    const dedicatedOnly = await startDedicatedServer(t.paths, server(['metrics']), silentLogger(), 0);
    try {
      for (const port of [off!, dedicatedOff.port]) {
        assert.equal((await request(port, 'GET', '/metrics')).status, 404, `${port}: no metrics`);
        assert.equal((await request(port, 'GET', LIST)).status, 200, `${port}: the API`);
      }
      for (const port of [only!, dedicatedOnly.port]) {
        await scrape(port);
        assert.equal((await request(port, 'GET', '/metrics', { auth: null })).status, 401, `${port}: still behind credentials`);
        assert.equal((await request(port, 'GET', '/healthz', { auth: null })).status, 200);
        assert.equal((await request(port, 'GET', LIST)).status, 404, `${port}: no API`);
      }
    } finally {
      await dedicatedOff.stop();
      await dedicatedOnly.stop();
      await t.destroy();
    }
  });
});

