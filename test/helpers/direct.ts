/**
 * Test support for Rhizome Direct: nodes whose web server serves `direct`, stores filled with
 * fixture bundles in-process (fast, through the same import session as every import), and the
 * vectors recorded from servald (test/vectors/direct).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { RunningNode } from '../../src/node/node.js';
import type { ServerSpec } from '../../src/web/spec.js';
import type { FixtureBundle } from './direct-fixtures.js';
import { toHex } from '../../src/formats/hex.js';
import { HARRY, request, startTestNode, type TestNode } from './node.js';
import { unixRequest } from './control.js';
import { parseResponses, type RawResponse } from './raw-http.js';
import { VECTORS } from './vectors.js';

/** An upstream server that serves the API and Rhizome Direct. */
export const DIRECT_SERVER: ServerSpec = { mode: 'upstream', bind: '127.0.0.1', port: 0, allowedOrigins: [], serve: ['api', 'direct'] };

/** A node whose own web server serves Rhizome Direct (tests talk to `nodePort`). */
export function startDirectNode(options: Parameters<typeof startTestNode>[0] = {}): Promise<TestNode> {
  return startTestNode({ servers: [DIRECT_SERVER], ...options });
}

/** Imports `bundles` into the node's store, `parallel` at a time (their commits are grouped). */
export async function loadBundles(node: RunningNode, bundles: readonly FixtureBundle[], parallel = 64): Promise<void> {
  const one = async (b: FixtureBundle): Promise<void> => {
    const session = await node.rhizome.beginImport(undefined, { carryMalformed: true });
    if ('outcome' in session) throw new Error(`import of ${b.label} answered at once`);
    try {
      const early = await session.setManifest(b.manifest);
      if (early) throw new Error(`import of ${b.label}: ${JSON.stringify(early.outcome)}`);
      if (session.expectsPayload) {
        const refused = await session.openPayload();
        if (refused) throw new Error(`import of ${b.label}: ${JSON.stringify(refused.outcome)}`);
        for await (const chunk of Readable.from([b.payload])) await session.writePayload(chunk as Buffer);
      }
      const done = await session.finish();
      if (done.outcome.http !== 201) throw new Error(`import of ${b.label}: ${JSON.stringify(done.outcome)}`);
    } finally {
      await session.abort();
    }
  };
  for (let i = 0; i < bundles.length; i += parallel) await Promise.all(bundles.slice(i, i + parallel).map(one));
}

export interface RecordedExchange {
  readonly file: string;
  readonly note: string;
  readonly request: Buffer;
  readonly response: RawResponse;
}

/** The exchanges of a vector group (test/vectors/direct/DIR), in recorded order. */
export function recordedExchanges(dir: string): RecordedExchange[] {
  const root = VECTORS.file(join('direct', dir));
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as { exchanges: Array<{ file: string; note: string }> };
  return index.exchanges.map(({ file, note }) => {
    const { responses } = parseResponses(readFileSync(join(root, `${file}.http`)), true);
    if (responses.length !== 1) throw new Error(`${dir}/${file}.http holds ${responses.length} responses`);
    return { file, note, request: readFileSync(join(root, `${file}.request`)), response: responses[0]! };
  });
}

/** The headers of a response that servald's clients read, for comparing two responses. */
export function essentials(r: RawResponse): Record<string, unknown> {
  return {
    status: r.status,
    reason: r.reason,
    contentType: r.headers.get('content-type'),
    contentLength: r.headers.get('content-length'),
    contentRange: r.headers.get('content-range'),
  };
}

/** The request line, Range header and body of a recorded request, its multipart boundary made neutral. */
export function requestEssentials(request: Buffer): { line: string; range: string | undefined; body: Buffer } {
  const headEnd = request.indexOf('\r\n\r\n');
  const head = request.subarray(0, headEnd).toString('latin1');
  const [method, target] = head.split('\r\n')[0]!.split(' ');
  const boundary = /boundary=([^\s;\r]+)/.exec(head)?.[1];
  let body = request.subarray(headEnd + 4);
  if (boundary) body = Buffer.from(body.toString('latin1').split(boundary).join('BOUNDARY'), 'latin1');
  return { line: `${method} ${target}`, range: /\r\nRange: ([^\r]*)/i.exec(head)?.[1], body };
}

export interface SyncRow {
  readonly peer: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly compared: number;
  readonly sent: number;
  readonly received: number;
  readonly skipped: number;
  readonly failed: number;
  readonly round_trips: number;
  readonly bytes_sent: number;
  readonly bytes_received: number;
  readonly error: string | null;
}

/**
 * Runs `rhizome direct MODE [URL]` in the node, as the CLI does (the control route), and returns
 * the summary row of each peer.
 */
export async function directSync(t: TestNode, mode: 'push' | 'pull' | 'sync', url?: string): Promise<SyncRow[]> {
  const query = url === undefined ? '' : `?url=${encodeURIComponent(url)}`;
  const reply = await unixRequest(t.paths.controlSocket, 'POST', `/control/rhizome/direct/${mode}${query}`);
  if (reply.status !== 200) throw new Error(`rhizome direct ${mode}: ${reply.status} ${reply.text}`);
  const table = reply.json<{ header: string[]; rows: unknown[][] }>();
  const rows = table.rows.map((row) => Object.fromEntries(table.header.map((h, i) => [h, row[i]])) as unknown as SyncRow);
  return rows.filter((r) => r.state !== 'running');
}

/** BID → version of every bundle the node on `port` holds, through its REST API. */
export async function heldBundles(port: number): Promise<Map<string, bigint>> {
  const reply = await request(port, 'GET', '/restful/rhizome/bundlelist.json', { auth: HARRY });
  const table = reply.json<{ header: string[]; rows: unknown[][] }>();
  const id = table.header.indexOf('id');
  const version = table.header.indexOf('version');
  return new Map(table.rows.map((r) => [String(r[id]), BigInt(r[version] as number)]));
}

/** BID → highest version among `sets`: what a node holds after syncing with all of them. */
export function newestOf(...sets: ReadonlyArray<readonly FixtureBundle[]>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const b of sets.flat()) {
    const id = toHex(b.bid);
    if ((out.get(id) ?? -1n) < b.version) out.set(id, b.version);
  }
  return out;
}
