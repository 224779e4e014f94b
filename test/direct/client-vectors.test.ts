/**
 * Tendril's Rhizome Direct client asks what servald's client asks: a node holding the client
 * store of a recorded session runs `rhizome direct` against a stand-in for the servald server that
 * answers each request with the answer servald gave to the same request (test/vectors/direct).
 * The enquiries must be the recorded ones byte for byte (the BAR walk, the range, the framing),
 * and the manifest, payload (with its Range) and import requests the recorded set; the bundles
 * then held are those servald's client ended with.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DIRECT_STORES, type FixtureBundle } from '../helpers/direct-fixtures.js';
import { directSync, heldBundles, loadBundles, newestOf, recordedExchanges, requestEssentials, startDirectNode, type RecordedExchange } from '../helpers/direct.js';
import type { TestNode } from '../helpers/node.js';

interface StandIn {
  readonly url: string;
  /** Requests received that no recorded exchange matched, as "LINE RANGE". */
  readonly unmatched: string[];
  /** Recorded exchanges not asked for yet. */
  readonly left: RecordedExchange[];
  readonly asked: Array<ReturnType<typeof requestEssentials>>;
  close(): Promise<void>;
}

const keyOf = (r: ReturnType<typeof requestEssentials>): string => `${r.line} ${r.range ?? ''} ${r.body.toString('base64')}`;

/** A server that answers each request with servald's recorded answer to the same request. */
function standIn(exchanges: readonly RecordedExchange[]): Promise<StandIn> {
  const left = [...exchanges];
  const unmatched: string[] = [];
  const asked: Array<ReturnType<typeof requestEssentials>> = [];
  const answer = (socket: Socket, request: Buffer): void => {
    const got = requestEssentials(request);
    asked.push(got);
    const i = left.findIndex((x) => keyOf(requestEssentials(x.request)) === keyOf(got));
    if (i < 0) {
      unmatched.push(`${got.line} ${got.range ?? ''}`);
      socket.end('HTTP/1.0 500 Not recorded\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [x] = left.splice(i, 1);
    socket.end(exchangeBytes(x!));
  };
  const server: Server = createServer((socket) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const headEnd = data.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
      if (data.length >= headEnd + 4 + length) answer(socket, data.subarray(0, headEnd + 4 + length));
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, unmatched, left, asked, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

/** The recorded answer, as servald sent it (the .http file). */
function exchangeBytes(x: RecordedExchange): Buffer {
  const r = x.response;
  const head = [`HTTP/1.0 ${r.status} ${r.reason}`, ...[...r.headers].map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), r.body]);
}

/** Hooks: a node holding `store`, and a stand-in answering with the recorded `session`. */
function replaying(session: string, store: () => FixtureBundle[]): { readonly t: TestNode; readonly servald: StandIn; readonly exchanges: RecordedExchange[] } {
  const state = { exchanges: recordedExchanges(session) } as { t: TestNode; servald: StandIn; exchanges: RecordedExchange[] };
  before(async () => {
    state.t = await startDirectNode();
    await loadBundles(state.t.node, store());
    state.servald = await standIn(state.exchanges);
  });
  after(async () => {
    await state.servald.close();
    await state.t.destroy();
  });
  return state;
}

void describe('Rhizome Direct client against recorded servald answers: session sync', () => {
  const r = replaying('sessions/sync', DIRECT_STORES.syncClient);

  void it('sends the recorded enquiry and the recorded requests, and ends with what servald ended with', async () => {
    const [summary] = await directSync(r.t, 'sync', r.servald.url);
    assert.deepEqual(r.servald.unmatched, [], 'every request was one servald received');
    assert.deepEqual(
      r.servald.left.map((x) => x.file),
      [],
      'every recorded request was made',
    );
    assert.equal(summary?.state, 'done', JSON.stringify(summary));
    // Sent: six new bundles and a newer version (201). Received: seven new ones, a newer version, a
    // journal's tail. Skipped: two older versions offered (202), one the server had (200), and two
    // manifests fetched for bundles held already or in a newer version.
    assert.deepEqual([summary.sent, summary.received, summary.skipped, summary.failed], [7, 9, 5, 0], JSON.stringify(summary));
    assert.equal(summary.round_trips, r.exchanges.length);
    const expected = newestOf(DIRECT_STORES.syncClient(), DIRECT_STORES.syncServer());
    assert.deepEqual(await heldBundles(r.t.nodePort), expected);
  });
});

void describe('Rhizome Direct client against recorded servald answers: session rounds (2,600 bundles)', () => {
  const r = replaying('sessions/rounds', DIRECT_STORES.roundsClient);

  void it('walks 2,600 bundles in two enquiries byte for byte as servald does', async () => {
    const [summary] = await directSync(r.t, 'pull', r.servald.url);
    assert.deepEqual(r.servald.unmatched, []);
    assert.deepEqual(r.servald.left.map((x) => x.file), []);
    const enquiries = r.servald.asked.filter((r) => r.line === 'POST /rhizome/enquiry');
    assert.equal(enquiries.length, 2);
    assert.equal(summary?.compared, 2600);
    assert.deepEqual([summary.received, summary.failed], [0, 0]);
    // The answers' "I have" records name bundles the client holds: fetched manifests, nothing more.
    assert.equal(summary.skipped, r.exchanges.length - 2);
  });
});
