/**
 * Small-bundle inserts per second: POST /restful/rhizome/insert with a 1 KiB payload, distinct in
 * every request, 16 connections, autocannon. Each insert makes a new bundle: a fresh Ed25519 key
 * pair, a signature, SHA-512, and a durable commit (group-committed across concurrent inserts).
 *
 * Ceiling: a bare node:http server that reads and discards the same multipart body and answers
 * 201 with a body the size of Tendril's answer (bench/servers/ceiling.ts). It measures what
 * loopback HTTP and the load generator cost for exactly these requests, so the ratio is the share
 * of the transport's capacity that Tendril keeps while doing the work. Target: over 2,000/s.
 *
 * The ceiling and both nodes run side by side and are measured in alternating rounds; the nodes'
 * CPU time per insert (main thread, other threads) is read from /proc. With --reference, the
 * default-config node and the reference, with wrk, 16 connections and then one.
 */
import { fmt, HARRY, interleave, makeInstance, removeInstance, startServer, startTendril, type LoadResult, type Proc } from './harness.js';
import { insertFrame, MULTIPART } from './rhizome-client.js';
import { reportVersus, versusReference, type Reference, type Versus } from './reference.js';
import type { DistinctBody } from './wrk.js';

export interface InsertBench {
  readonly ceiling: LoadResult;
  /** Default config: an info log line per request. */
  readonly inserts: LoadResult;
  /** log.level=warn. */
  readonly quiet: LoadResult;
  readonly bodyBytes: number;
  readonly versus: Versus[];
}

const CONNECTIONS = 16;
/** A new body for every request: a distinct 1 KiB payload, so every insert stores a new payload. */
const body: DistinctBody = { ...insertFrame('bench.txt'), bytes: 1024 };
const BODY_BYTES = body.head.length + body.bytes + body.tail.length;
const TARGET = 2000;

export async function benchInsert(seconds: number, reference?: Reference): Promise<InsertBench> {
  const sink = await startServer('ceiling', ['-', '-', '380']);
  const nodes: Array<{ instance: string; node: Proc & { port: number } }> = [];
  try {
    for (const config of [{}, { 'log.level': 'warn' }] as Array<Record<string, string>>) {
      const instance = await makeInstance(config);
      nodes.push({ instance, node: await startTendril(instance) });
    }
    const options = (origin: string | number, path: string, connections = CONNECTIONS) => ({
      url: `${typeof origin === 'number' ? `http://127.0.0.1:${origin}` : origin}${path}`,
      connections,
      method: 'POST' as const,
      headers: { ...HARRY, 'Content-Type': MULTIPART },
      body,
    });
    const [ceiling, inserts, quiet] = await interleave(
      [
        { options: options(sink.port, '/sink'), pid: sink.child.pid },
        ...nodes.map(({ node }) => ({ options: options(node.port, '/restful/rhizome/insert'), pid: node.child.pid })),
      ],
      seconds,
      Math.max(1, Math.round(seconds / 2)),
    );
    const versus: Versus[] = [];
    for (const connections of reference ? [CONNECTIONS, 1] : []) {
      const node = nodes[0]!.node;
      versus.push(
        await versusReference(
          `small inserts, ${connections} connection${connections === 1 ? '' : 's'}`,
          [{ label: 'Tendril, default config', subject: { options: options(node.port, '/restful/rhizome/insert', connections), pid: node.child.pid } }],
          { options: options(reference!.origin, '/restful/rhizome/insert', connections), pid: reference!.pid },
          seconds,
        ),
      );
    }
    return { ceiling: ceiling!, inserts: inserts!, quiet: quiet!, bodyBytes: BODY_BYTES, versus };
  } finally {
    await sink.stop();
    for (const { instance, node } of nodes) {
      await node.stop();
      removeInstance(instance);
    }
  }
}

export function reportInsert(b: InsertBench): string[] {
  const rounds = (r: LoadResult): string => (r.rounds ?? []).map((v) => fmt(v)).join(', ');
  const cpu = (r: LoadResult): string => (r.cpuUs === undefined ? '' : `${fmt(r.cpuUs.main)} / ${fmt(r.cpuUs.other)}`);
  const row = (label: string, r: LoadResult): string =>
    `| ${label} | ${fmt(r.requestsPerSecond)} | ${fmt(r.requestsPerSecond / b.ceiling.requestsPerSecond, 2)} | ${r.p50Ms} | ${r.p99Ms} | ${cpu(r)} | ${fmt(r.loadgenUs ?? NaN)} | ${r.errors} / ${r.non2xx} |`;
  const met = (r: LoadResult): string => (r.requestsPerSecond > TARGET && r.errors + r.non2xx === 0 ? 'met' : 'missed');
  return [
    `| small inserts (${b.bodyBytes}-byte multipart, 1 KiB payload), ${CONNECTIONS} connections | req/s | ratio | p50 ms | p99 ms | server CPU µs/req: main / other threads | load generator CPU µs/req | errors / non-2xx |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row('bare node:http, body read and discarded, 201 (ceiling)', b.ceiling),
    row('Tendril insert, default config (a log line per request)', b.inserts),
    row('Tendril insert, log.level=warn', b.quiet),
    '',
    `Target: over ${fmt(TARGET)} inserts/s — default config: **${met(b.inserts)}**, log.level=warn: **${met(b.quiet)}**. ` +
      `Rounds (req/s): ceiling ${rounds(b.ceiling)}; default ${rounds(b.inserts)}; warn ${rounds(b.quiet)}.`,
    ...b.versus.flatMap((v) => ['', ...reportVersus(v)]),
  ];
}
