/**
 * Small-bundle inserts per second: POST /restful/rhizome/insert with a 1 KiB payload, distinct in
 * every request, 16 connections, autocannon. Each insert makes a new bundle: a fresh Ed25519 key
 * pair, a signature, SHA-512, and a durable commit (group-committed across concurrent inserts).
 *
 * Ceiling: a bare node:http server that reads and discards the same multipart body and answers
 * 201 with a body the size of Tendril's answer (bench/servers/ceiling.ts). It measures what
 * loopback HTTP and the load generator cost for exactly these requests, so the ratio is the share
 * of the transport's capacity that Tendril keeps while doing the work. Target: over 2,000/s.
 */
import { fmt, HARRY, load, makeInstance, removeInstance, startServer, startTendril, type LoadResult } from './harness.js';
import { MULTIPART, smallInsertBody } from './rhizome-client.js';

export interface InsertBench {
  readonly ceiling: LoadResult;
  /** Default config: an info log line per request. */
  readonly inserts: LoadResult;
  /** log.level=warn. */
  readonly quiet: LoadResult;
  readonly bodyBytes: number;
}

const CONNECTIONS = 16;
const FILLER = 'x'.repeat(1024);
let sequence = 0;
/** A new body for every request: a distinct payload, so every insert stores a new payload. */
const body = (): Buffer => smallInsertBody('bench.txt', `${(sequence++).toString(36)}:${FILLER}`.slice(0, 1024));
const BODY_BYTES = body().length;
const TARGET = 2000;

async function measureTendril(seconds: number, config: Record<string, string>): Promise<LoadResult> {
  const instance = await makeInstance(config);
  const node = await startTendril(instance);
  try {
    const options = {
      url: `http://127.0.0.1:${node.port}/restful/rhizome/insert`,
      connections: CONNECTIONS,
      method: 'POST' as const,
      headers: { ...HARRY, 'Content-Type': MULTIPART },
      body,
    };
    await load({ ...options, seconds: 2 }); // warm-up
    return await load({ ...options, seconds });
  } finally {
    await node.stop();
    removeInstance(instance);
  }
}

export async function benchInsert(seconds: number): Promise<InsertBench> {
  const sink = await startServer('ceiling', ['-', '-', '380']);
  let ceiling: LoadResult;
  try {
    const options = {
      url: `http://127.0.0.1:${sink.port}/sink`,
      connections: CONNECTIONS,
      method: 'POST' as const,
      headers: { ...HARRY, 'Content-Type': MULTIPART },
      body,
    };
    await load({ ...options, seconds: 2 });
    ceiling = await load({ ...options, seconds });
  } finally {
    await sink.stop();
  }
  const inserts = await measureTendril(seconds, {});
  const quiet = await measureTendril(seconds, { 'log.level': 'warn' });
  return { ceiling, inserts, quiet, bodyBytes: BODY_BYTES };
}

export function reportInsert(b: InsertBench): string[] {
  const row = (label: string, r: LoadResult): string =>
    `| ${label} | ${fmt(r.requestsPerSecond)} | ${fmt(r.requestsPerSecond / b.ceiling.requestsPerSecond, 2)} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} / ${r.non2xx} |`;
  const met = (r: LoadResult): string => (r.requestsPerSecond > TARGET && r.errors + r.non2xx === 0 ? 'met' : 'missed');
  return [
    `| small inserts (${b.bodyBytes}-byte multipart, 1 KiB payload), ${CONNECTIONS} connections | req/s | ratio | p50 ms | p99 ms | errors / non-2xx |`,
    '|---|---:|---:|---:|---:|---:|',
    row('bare node:http, body read and discarded, 201 (ceiling)', b.ceiling),
    row('Tendril insert, default config (a log line per request)', b.inserts),
    row('Tendril insert, log.level=warn', b.quiet),
    '',
    `Target: over ${fmt(TARGET)} inserts/s — default config: **${met(b.inserts)}**, log.level=warn: **${met(b.quiet)}**.`,
  ];
}
