/**
 * newsince fan-out: 1,000 clients each hold GET /restful/rhizome/newsince/TOKEN/bundlelist.json
 * open (raw sockets, so that the clients cost this process little); then one insert, whose bundle
 * name is a fresh marker. Latency of a client = the moment its socket delivers the row with the
 * marker, minus the moment just before the insert was sent; reported with the 201's own time.
 * Several rounds, one insert each; percentiles over all clients of all rounds.
 *
 * Ceiling: a bare node:http server that holds 1,000 responses and, on a POST, writes a row of
 * the same size to each and answers 201 (bench/servers/ceiling.ts /hold and /fire).
 * Target: p99 under 100 ms.
 */
import { connect, type Socket } from 'node:net';
import { fmt, HARRY, makeInstance, removeInstance, startServer, startTendril } from './harness.js';
import { MULTIPART, percentile, smallInsertBody, timed } from './rhizome-client.js';

const CLIENTS = 1000;
const ROUNDS = Number(process.env.BENCH_FANOUT_ROUNDS ?? 10);
const WARM_UP_ROUNDS = 3;
const TARGET_P99_MS = 100;

export interface FanoutResult {
  /** Every client's latency in every round, ms, sorted. */
  readonly latencies: number[];
  /** Time from sending the insert to its 201, ms, per round. */
  readonly answerMs: number[];
  /** p99 of each round, ms. */
  readonly roundP99: number[];
  readonly missing: number;
}

export interface FanoutBench {
  readonly clients: number;
  readonly rounds: number;
  readonly ceiling: FanoutResult;
  readonly tendril: FanoutResult;
}

interface Held {
  readonly socket: Socket;
  text: string;
  /** Where the search for the current marker starts. */
  from: number;
}

/** Opens `CLIENTS` long-polls, 100 at a time, each ready once its table head has arrived. */
async function holdAll(port: number, path: string): Promise<Held[]> {
  const held: Held[] = [];
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${HARRY.Authorization}\r\n\r\n`;
  for (let batch = 0; batch < CLIENTS; batch += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, CLIENTS - batch) }, () => {
        return new Promise<void>((resolve, reject) => {
          const h: Held = { socket: connect(port, '127.0.0.1'), text: '', from: 0 };
          h.socket.setNoDelay(true);
          h.socket.setEncoding('latin1');
          const onData = (chunk: string): void => {
            h.text += chunk;
            if (h.text.includes('"rows":[')) {
              h.socket.off('data', onData);
              h.from = h.text.length;
              resolve();
            }
          };
          h.socket.on('data', onData);
          h.socket.once('error', reject);
          h.socket.write(request);
          held.push(h);
        });
      }),
    );
  }
  return held;
}

/** One insert (or fire), then waits until every client has its row or 10 s have passed. */
async function round(held: Held[], marker: string, send: () => Promise<number>): Promise<{ latencies: number[]; answerMs: number; missing: number }> {
  const latencies: number[] = [];
  let waiting = held.length;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const started = performance.now();
  const listeners = held.map((h) => {
    const onData = (chunk: string): void => {
      h.text += chunk;
      if (h.text.indexOf(marker, Math.max(0, h.from - marker.length)) < 0) return;
      latencies.push(performance.now() - started);
      h.socket.off('data', onData);
      h.from = h.text.length;
      if (--waiting === 0) done();
    };
    h.socket.on('data', onData);
    return onData;
  });
  const status = await send();
  const answerMs = performance.now() - started;
  if (status !== 201) throw new Error(`fan-out insert: HTTP ${status}`);
  await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
  held.forEach((h, i) => h.socket.off('data', listeners[i]!));
  return { latencies, answerMs, missing: waiting };
}

async function measure(port: number, holdPath: string, send: (marker: string) => Promise<number>): Promise<FanoutResult> {
  const held = await holdAll(port, holdPath);
  const latencies: number[] = [];
  const answerMs: number[] = [];
  const roundP99: number[] = [];
  let missing = 0;
  try {
    // Warm-up rounds, not counted: the first fan-outs of a process run cold code on both sides.
    for (let w = 0; w < WARM_UP_ROUNDS; w++) {
      const warm = `warm-up-${w}-${Date.now()}`;
      await round(held, warm, () => send(warm));
    }
    for (let r = 0; r < ROUNDS; r++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const marker = `fanout-${r}-${Math.random().toString(36).slice(2)}`;
      const result = await round(held, marker, () => send(marker));
      roundP99.push(percentile([...result.latencies].sort((x, y) => x - y), 99));
      latencies.push(...result.latencies);
      answerMs.push(result.answerMs);
      missing += result.missing;
    }
  } finally {
    for (const h of held) h.socket.destroy();
  }
  return { latencies: latencies.sort((a, b) => a - b), answerMs, roundP99, missing };
}

export async function benchFanout(): Promise<FanoutBench> {
  const sink = await startServer('ceiling');
  let ceiling: FanoutResult;
  try {
    ceiling = await measure(sink.port, '/hold', async (marker) => {
      const t = await timed(`http://127.0.0.1:${sink.port}/fire?m=${marker}`, { method: 'POST', body: [smallInsertBody(marker, 'x'.repeat(1024))], headers: { 'Content-Type': MULTIPART } });
      return t.status;
    });
  } finally {
    await sink.stop();
  }

  const instance = await makeInstance({ 'api.restful.newsince_timeout': '10m' });
  const node = await startTendril(instance);
  let tendril: FanoutResult;
  try {
    const base = `http://127.0.0.1:${node.port}/restful/rhizome`;
    const insert = async (marker: string): Promise<number> => {
      const t = await timed(`${base}/insert`, { method: 'POST', body: [smallInsertBody(marker, `${marker}:${'x'.repeat(1000)}`)], headers: { 'Content-Type': MULTIPART } });
      return t.status;
    };
    await insert('first');
    const list = await timed(`${base}/bundlelist.json`, { keep: true });
    const token = (JSON.parse(list.body!.toString('utf8')) as { rows: unknown[][] }).rows[0]![0] as string;
    tendril = await measure(node.port, `/restful/rhizome/newsince/${token}/bundlelist.json`, insert);
  } finally {
    await node.stop();
    removeInstance(instance);
  }
  return { clients: CLIENTS, rounds: ROUNDS, ceiling, tendril };
}

export function reportFanout(b: FanoutBench): string[] {
  const sorted = (v: readonly number[]): number[] => [...v].sort((x, y) => x - y);
  const row = (label: string, r: FanoutResult): string =>
    `| ${label} | ${fmt(percentile(r.latencies, 50), 1)} | ${fmt(percentile(r.latencies, 99), 1)} | ${fmt(r.latencies.at(-1) ?? NaN, 1)} | ` +
    `${fmt(percentile(sorted(r.roundP99), 50), 1)} (${fmt(Math.min(...r.roundP99), 1)}–${fmt(Math.max(...r.roundP99), 1)}) | ${fmt(percentile(sorted(r.answerMs), 50), 1)} | ${r.missing} |`;
  const p99 = percentile(b.tendril.latencies, 99);
  return [
    `| newsince fan-out, ${fmt(b.clients)} clients × ${b.rounds} inserts | p50 ms | p99 ms | max ms | p99 of a round: median (range) ms | insert answered ms (median) | rows not received |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    row('bare node:http holding 1,000 responses, a row written to each (ceiling)', b.ceiling),
    row('Tendril newsince/TOKEN/bundlelist.json, one insert', b.tendril),
    '',
    `Latency from just before the insert is sent to each client's row, over all clients of all rounds (after ${WARM_UP_ROUNDS} uncounted rounds). ` +
      `Target: p99 under ${TARGET_P99_MS} ms — **${p99 < TARGET_P99_MS && b.tendril.missing === 0 ? 'met' : 'missed'}** ` +
      `(p99 ratio ceiling / Tendril: ${fmt(percentile(b.ceiling.latencies, 99) / p99, 2)}).`,
  ];
}
