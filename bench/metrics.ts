/**
 * What metrics cost, and what the typed client costs:
 *
 *   metrics  identities.json (4 identities, 16 connections) on two nodes alike but for
 *            metrics.enable, measured in alternating rounds; the ratio of their rates is the cost
 *            of counting each request (target: metrics on ≥ 0.90 of metrics off), and one scrape
 *            of /metrics is timed.
 *   client   identities.json fetched by the typed client (src/client/, openapi-fetch over
 *            node:http) and by bare node:http with the same keep-alive agent, 8 callers each, in
 *            alternating rounds: the client's own cost per call.
 */
import { Agent, request } from 'node:http';
import { createNodeClient } from '../src/client/node.js';
import { fmt, HARRY, interleave, makeInstance, removeInstance, startTendril, tendril, type LoadResult } from './harness.js';

const CONNECTIONS = 16;
const PATH = '/restful/keyring/identities.json';

export interface MetricsBench {
  readonly on: LoadResult;
  readonly off: LoadResult;
  readonly scrapeMs: number;
  readonly scrapeBytes: number;
  readonly client: { readonly typed: number; readonly bare: number };
}

async function node(metrics: boolean): Promise<{ instance: string; port: number; pid: number; stop(): Promise<void> }> {
  const instance = await makeInstance({ 'log.level': 'warn', 'metrics.enable': metrics ? '1' : '0' });
  for (const name of ['Alice', 'Bob', 'Carol', 'Dave']) await tendril(instance, ['keyring', 'add', '--name', name, '--did', '5551234']);
  const started = await startTendril(instance);
  return { instance, port: started.port, pid: started.child.pid!, stop: () => started.stop() };
}

/** Calls per second of `call`, 8 at a time, for `seconds`. */
async function rate(call: () => Promise<unknown>, seconds: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        await call();
        calls++;
      }
    }),
  );
  return calls / seconds;
}

export async function benchMetrics(seconds: number): Promise<MetricsBench> {
  const on = await node(true);
  const off = await node(false);
  try {
    const url = (port: number): string => `http://127.0.0.1:${port}${PATH}`;
    const [withMetrics, without] = await interleave(
      [
        { options: { url: url(on.port), connections: CONNECTIONS, headers: HARRY }, pid: on.pid },
        { options: { url: url(off.port), connections: CONNECTIONS, headers: HARRY }, pid: off.pid },
      ],
      seconds * 2,
      4,
    );
    const client = createNodeClient({ url: `http://127.0.0.1:${on.port}` }, { credentials: { user: 'harry', password: 'potter' } });
    const started = performance.now();
    const text = await client.metrics();
    const scrapeMs = performance.now() - started;
    const agent = new Agent({ keepAlive: true });
    const bare = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: on.port, path: PATH, headers: HARRY, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    const typed = (): Promise<unknown> => client.keyring.list();
    let typedRate = 0;
    let bareRate = 0;
    await rate(typed, 1);
    await rate(bare, 1);
    for (let round = 0; round < 4; round++) {
      typedRate += (await rate(typed, seconds / 4)) / 4;
      bareRate += (await rate(bare, seconds / 4)) / 4;
    }
    client.close();
    agent.destroy();
    return { on: withMetrics!, off: without!, scrapeMs, scrapeBytes: Buffer.byteLength(text), client: { typed: typedRate, bare: bareRate } };
  } finally {
    await on.stop();
    await off.stop();
    removeInstance(on.instance);
    removeInstance(off.instance);
  }
}

export function reportMetrics(b: MetricsBench): string[] {
  const row = (label: string, r: LoadResult): string =>
    `| ${label} | ${fmt(r.requestsPerSecond)} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuUs ? fmt(r.cpuUs.main, 1) : ''} | ${r.errors} / ${r.non2xx} |`;
  // On a shared machine one round can collapse for reasons of its own: the ratio of the rounds'
  // medians, and of the node's CPU time per request, say more than the ratio of the means.
  const median = (r: LoadResult): number => {
    const v = [...(r.rounds ?? [r.requestsPerSecond])].sort((x, y) => x - y);
    return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const ratio = median(b.on) / median(b.off);
  const cpu = b.on.cpuUs && b.off.cpuUs ? (b.off.cpuUs.main + b.off.cpuUs.other) / (b.on.cpuUs.main + b.on.cpuUs.other) : undefined;
  return [
    `| identities.json (4 identities), ${CONNECTIONS} connections, log.level=warn, alternating rounds | req/s | p50 ms | p99 ms | node CPU µs/request | errors / non-2xx |`,
    '|---|---:|---:|---:|---:|---:|',
    row('metrics.enable=0', b.off),
    row('metrics.enable=1 (default)', b.on),
    '',
    `Metrics on / off, median req/s of the rounds: **${fmt(ratio, 3)}**; node CPU per request, off / on: **${cpu === undefined ? 'n/a' : fmt(cpu, 3)}** (target ≥ 0.90: metrics cost under 10 %). Rounds (req/s), on: ${(b.on.rounds ?? []).map((x) => fmt(x)).join(', ')}; off: ${(b.off.rounds ?? []).map((x) => fmt(x)).join(', ')}. One scrape of /metrics: ${fmt(b.scrapeMs, 1)} ms, ${fmt(b.scrapeBytes)} bytes.`,
    '',
    '| identities.json, 8 callers in this process, keep-alive | calls/s |',
    '|---|---:|',
    `| bare node:http | ${fmt(b.client.bare)} |`,
    `| typed client (\`client.keyring.list()\`: openapi-fetch, Request/Response objects, rows as objects) | ${fmt(b.client.typed)} |`,
    '',
    `Typed client / bare: ${fmt(b.client.typed / b.client.bare, 2)}.`,
  ];
}
