/**
 * bundlelist.json with 10,000 bundles: time to the first and the last byte of the whole list,
 * one request at a time. The store is filled through the REST API (small inserts, 32 at a time).
 *
 * Ceiling: the very same bytes (one response captured from Tendril) sent by a bare node:http
 * server from memory — what moving the list over loopback costs, without building it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, makeInstance, removeInstance, startServer, startTendril } from './harness.js';
import { insertMany, median, timed, type Timed } from './rhizome-client.js';

const BUNDLES = 10_000;

export interface Latency {
  readonly firstMs: number[];
  readonly lastMs: number[];
}

export interface ListBench {
  readonly bundles: number;
  readonly bytes: number;
  readonly fillSeconds: number;
  readonly tendril: Latency;
  readonly ceiling: Latency;
}

async function latencies(url: string, runs: number, check: (t: Timed) => void): Promise<Latency> {
  for (let i = 0; i < 2; i++) check(await timed(url)); // warm-up
  const firstMs: number[] = [];
  const lastMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = await timed(url);
    check(t);
    firstMs.push(t.firstMs);
    lastMs.push(t.lastMs);
  }
  return { firstMs, lastMs };
}

export async function benchList(seconds: number): Promise<ListBench> {
  const runs = Math.max(10, seconds * 2);
  const instance = await makeInstance();
  const node = await startTendril(instance);
  let tendril: Latency;
  let body: Buffer;
  let fillSeconds: number;
  try {
    const started = performance.now();
    const refused = await insertMany(node.port, BUNDLES, 32);
    fillSeconds = (performance.now() - started) / 1000;
    if (refused > 0) throw new Error(`${refused} of ${BUNDLES} inserts refused`);
    const url = `http://127.0.0.1:${node.port}/restful/rhizome/bundlelist.json`;
    const captured = await timed(url, { keep: true });
    body = captured.body!;
    const rows = (JSON.parse(body.toString('utf8')) as { rows: unknown[] }).rows.length;
    if (rows !== BUNDLES) throw new Error(`bundlelist.json has ${rows} rows, not ${BUNDLES}`);
    tendril = await latencies(url, runs, (t) => {
      if (t.status !== 200 || t.bytes !== body.length) throw new Error(`bundlelist.json: ${t.status}, ${t.bytes} bytes`);
    });
  } finally {
    await node.stop();
    removeInstance(instance);
  }

  const dir = mkdtempSync(join(tmpdir(), 'tendril-bench-list-'));
  const file = join(dir, 'bundlelist.json');
  writeFileSync(file, body);
  const server = await startServer('ceiling', ['-', file]);
  let ceiling: Latency;
  try {
    ceiling = await latencies(`http://127.0.0.1:${server.port}/memory`, runs, (t) => {
      if (t.bytes !== body.length) throw new Error('ceiling: short body');
    });
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { bundles: BUNDLES, bytes: body.length, fillSeconds, tendril, ceiling };
}

export function reportList(b: ListBench): string[] {
  const ms = (values: number[]): string => fmt(median(values), 1);
  const max = (values: number[]): string => fmt(Math.max(...values), 1);
  return [
    `| bundlelist.json, ${fmt(b.bundles)} bundles (${fmt(b.bytes / 1e6, 1)} MB), one request at a time | first byte ms (median) | last byte ms (median) | last byte ms (max) | runs |`,
    '|---|---:|---:|---:|---:|',
    `| bare node:http, the same bytes from memory (ceiling) | ${ms(b.ceiling.firstMs)} | ${ms(b.ceiling.lastMs)} | ${max(b.ceiling.lastMs)} | ${b.ceiling.lastMs.length} |`,
    `| Tendril | ${ms(b.tendril.firstMs)} | ${ms(b.tendril.lastMs)} | ${max(b.tendril.lastMs)} | ${b.tendril.lastMs.length} |`,
    '',
    `Ratio of the medians (ceiling / Tendril, time to last byte): ${fmt(median(b.ceiling.lastMs) / median(b.tendril.lastMs), 2)}. No target was set. ` +
      `Filling the store took ${fmt(b.fillSeconds, 1)} s (${fmt(b.bundles / b.fillSeconds)} inserts/s, 32 at a time, node:http client).`,
  ];
}
