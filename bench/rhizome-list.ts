/**
 * bundlelist.json with 1,000 and with 10,000 small bundles. The store is filled through the REST
 * API (small inserts, 32 at a time).
 *
 * Ceiling: the very same bytes (one response captured from Tendril) sent by a bare node:http
 * server from memory — what moving the list over loopback costs, without building it.
 *
 *   1,000 rows   lists per second with 16 connections, beside the ceiling, in alternating rounds;
 *                with --reference, the same 1,000 signed bundles are imported there and both are
 *                driven by wrk: target at least 5 × the reference.
 *   10,000 rows  time to the first and the last byte of the whole list, one request at a time,
 *                alternating with the ceiling: target within 3 × the ceiling's last byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, HARRY, interleave, makeInstance, removeInstance, startServer, startTendril, type LoadResult } from './harness.js';
import { reportVersus, roundRatios, versusReference, type Reference, type Versus } from './reference.js';
import { importMany, insertMany, median, timed, type Timed } from './rhizome-client.js';

const SMALL = 1_000;
const BUNDLES = 10_000;
const CONNECTIONS = 16;
const LARGE_TARGET = 3;
const REFERENCE_TARGET = 5;

export interface Latency {
  readonly firstMs: number[];
  readonly lastMs: number[];
}

export interface ListBench {
  readonly small: {
    readonly bytes: number;
    readonly ceiling: LoadResult;
    readonly tendril: LoadResult;
    /** The reference's list of the same bundles: its rows and bytes, and the comparison. */
    readonly reference?: { readonly rows: number; readonly bytes: number; readonly versus: Versus };
  };
  readonly bundles: number;
  readonly bytes: number;
  readonly fillSeconds: number;
  readonly tendril: Latency;
  readonly ceiling: Latency;
}

/** One list, checked: its status and its length. */
async function fetchList(url: string): Promise<Buffer> {
  const t = await timed(url, { keep: true });
  if (t.status !== 200) throw new Error(`${url}: HTTP ${t.status}`);
  return t.body!;
}

const rowsOf = (body: Buffer): number => (JSON.parse(body.toString('utf8')) as { rows: unknown[] }).rows.length;

/** `runs` alternating pairs of single requests, after two of each to warm up. */
async function alternate(urls: readonly string[], runs: number, bytes: readonly number[]): Promise<Latency[]> {
  const out = urls.map(() => ({ firstMs: [] as number[], lastMs: [] as number[] }));
  for (let r = -2; r < runs; r++) {
    for (const [i, url] of urls.entries()) {
      const t: Timed = await timed(url);
      if (t.status !== 200 || t.bytes !== bytes[i]) throw new Error(`${url}: ${t.status}, ${t.bytes} bytes`);
      if (r < 0) continue;
      out[i]!.firstMs.push(t.firstMs);
      out[i]!.lastMs.push(t.lastMs);
    }
  }
  return out;
}

export async function benchList(seconds: number, reference?: Reference): Promise<ListBench> {
  const runs = Math.max(10, seconds * 2);
  const instance = await makeInstance();
  const node = await startTendril(instance);
  const dir = mkdtempSync(join(tmpdir(), 'tendril-bench-list-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    const url = `http://127.0.0.1:${node.port}/restful/rhizome/bundlelist.json`;
    const started = performance.now();
    const first = await insertMany(node.port, SMALL, 32, { keep: reference !== undefined });
    if (first.refused > 0) throw new Error(`${first.refused} of ${SMALL} inserts refused`);
    let fillSeconds = (performance.now() - started) / 1000;

    // 1,000 rows.
    const smallBody = await fetchList(url);
    if (rowsOf(smallBody) !== SMALL) throw new Error(`bundlelist.json has ${rowsOf(smallBody)} rows, not ${SMALL}`);
    writeFileSync(join(dir, 'small.json'), smallBody);
    const smallCeiling = await startServer('ceiling', ['-', join(dir, 'small.json')]);
    stops.push(() => smallCeiling.stop());
    const [ceiling, tendril] = await interleave(
      [
        { options: { url: `http://127.0.0.1:${smallCeiling.port}/memory`, connections: CONNECTIONS }, pid: smallCeiling.child.pid },
        { options: { url, connections: CONNECTIONS, headers: HARRY }, pid: node.child.pid },
      ],
      seconds,
      Math.max(1, Math.round(seconds / 2)),
    );
    let referenceSmall: ListBench['small']['reference'];
    if (reference) {
      const refused = await importMany(reference.origin, first.bundles, 4);
      if (refused > 0) throw new Error(`the reference refused ${refused} of ${SMALL} imports`);
      const refUrl = `${reference.origin}/restful/rhizome/bundlelist.json`;
      const refBody = await fetchList(refUrl);
      const versus = await versusReference(
        `bundlelist.json, ${fmt(SMALL)} bundles, ${CONNECTIONS} connections`,
        [{ label: 'Tendril', subject: { options: { url, connections: CONNECTIONS, headers: HARRY }, pid: node.child.pid } }],
        { options: { url: refUrl, connections: CONNECTIONS, headers: HARRY }, pid: reference.pid },
        seconds,
        REFERENCE_TARGET,
      );
      referenceSmall = { rows: rowsOf(refBody), bytes: refBody.length, versus };
    }

    // 10,000 rows.
    const more = performance.now();
    const rest = await insertMany(node.port, BUNDLES - SMALL, 32, { from: SMALL });
    if (rest.refused > 0) throw new Error(`${rest.refused} of ${BUNDLES - SMALL} inserts refused`);
    fillSeconds += (performance.now() - more) / 1000;
    const body = await fetchList(url);
    if (rowsOf(body) !== BUNDLES) throw new Error(`bundlelist.json has ${rowsOf(body)} rows, not ${BUNDLES}`);
    writeFileSync(join(dir, 'large.json'), body);
    const largeCeiling = await startServer('ceiling', ['-', join(dir, 'large.json')]);
    stops.push(() => largeCeiling.stop());
    const [t, c] = await alternate([url, `http://127.0.0.1:${largeCeiling.port}/memory`], runs, [body.length, body.length]);
    return {
      small: { bytes: smallBody.length, ceiling: ceiling!, tendril: tendril!, reference: referenceSmall },
      bundles: BUNDLES,
      bytes: body.length,
      fillSeconds,
      tendril: t!,
      ceiling: c!,
    };
  } finally {
    for (const stop of stops) await stop();
    await node.stop();
    removeInstance(instance);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function reportList(b: ListBench): string[] {
  const ms = (values: number[]): string => fmt(median(values), 1);
  const max = (values: number[]): string => fmt(Math.max(...values), 1);
  const s = b.small;
  const cpu = (r: LoadResult): string => (r.cpuUs === undefined ? '' : `${fmt(r.cpuUs.main)} / ${fmt(r.cpuUs.other)}`);
  const row = (label: string, r: LoadResult, ratio: string): string =>
    `| ${label} | ${fmt(r.requestsPerSecond)} | ${ratio} | ${r.p50Ms} | ${r.p99Ms} | ${cpu(r)} | ${r.errors} / ${r.non2xx} |`;
  const largeRatio = median(b.tendril.lastMs) / median(b.ceiling.lastMs);
  const ref = s.reference;
  return [
    `| bundlelist.json, ${fmt(SMALL)} bundles (${fmt(s.bytes)} bytes), ${CONNECTIONS} connections | lists/s | ratio (rounds) | p50 ms | p99 ms | server CPU µs/list: main / other | errors / non-2xx |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    row('bare node:http, the same bytes from memory (ceiling)', s.ceiling, '1.00'),
    row('Tendril', s.tendril, `${fmt(s.tendril.requestsPerSecond / s.ceiling.requestsPerSecond, 2)} (${roundRatios(s.tendril, s.ceiling)})`),
    '',
    ...(ref
      ? [
          `The reference lists ${fmt(ref.rows)} rows in ${fmt(ref.bytes)} bytes (Tendril: ${fmt(SMALL)} rows in ${fmt(s.bytes)} bytes)` +
            `${ref.rows === SMALL ? '' : ': **not the same store** (start a fresh reference instance)'}.`,
          '',
          ...reportVersus(ref.versus),
        ]
      : []),
    `| bundlelist.json, ${fmt(b.bundles)} bundles (${fmt(b.bytes / 1e6, 1)} MB), one request at a time | first byte ms (median) | last byte ms (median) | last byte ms (max) | runs |`,
    '|---|---:|---:|---:|---:|',
    `| bare node:http, the same bytes from memory (ceiling) | ${ms(b.ceiling.firstMs)} | ${ms(b.ceiling.lastMs)} | ${max(b.ceiling.lastMs)} | ${b.ceiling.lastMs.length} |`,
    `| Tendril | ${ms(b.tendril.firstMs)} | ${ms(b.tendril.lastMs)} | ${max(b.tendril.lastMs)} | ${b.tendril.lastMs.length} |`,
    '',
    `Time to the last byte, Tendril / ceiling (medians, alternating requests): ${fmt(largeRatio, 2)}; target at most ${LARGE_TARGET}: **${largeRatio <= LARGE_TARGET ? 'met' : 'missed'}**. ` +
      `Filling the store took ${fmt(b.fillSeconds, 1)} s (${fmt(b.bundles / b.fillSeconds)} inserts/s, 32 at a time, node:http client).`,
  ];
}
