/**
 * Hostile Rhizome Direct peers, both ways. As a server, Tendril refuses forged and lying imports
 * with servald's statuses and stores nothing, answers an endless payload or a flood of BARs as
 * soon as it can tell (without reading on), keeps serving others while a slow sender dribbles,
 * and refuses browsers. As a client, it stores nothing a lying peer sends (forged manifests,
 * payloads that do not match, longer or endless bodies, the wrong bundle) and gives up on a
 * silent peer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { encodeRecord, RECORD_HAVE, RECORD_SEND } from '../../src/formats/direct-wire.js';
import { toHex } from '../../src/formats/hex.js';
import { fixtureBundle } from '../helpers/direct-fixtures.js';
import { loadBundles, startDirectNode } from '../helpers/direct.js';
import { HARRY, request, type TestNode } from '../helpers/node.js';
import { exchange } from '../helpers/raw-http.js';

const BOUNDARY = 'hOsTiLe';
const WHOLE_RANGE = Buffer.from('0a0000000031ffffffff', 'hex');

function part(name: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), body, Buffer.from('\r\n')]);
}

function post(path: string, body: Buffer, extra = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.0\r\nContent-Length: ${body.length}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n${extra}\r\n`),
    body,
  ]);
}

const formOf = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]);

async function bundleCount(t: TestNode): Promise<number> {
  const reply = await request(t.nodePort, 'GET', '/restful/rhizome/bundlelist.json', { auth: HARRY });
  return reply.json<{ rows: unknown[] }>().rows.length;
}

/**
 * Writes a request head and then `chunk` again and again until an answer arrives (or `limit` bytes
 * went out); resolves with the answer's status line and how many body bytes were written.
 */
function floodUntilAnswered(port: number, head: Buffer, chunk: Buffer, limit: number): Promise<{ statusLine: string; written: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let written = 0;
    let answer = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ statusLine: answer.split('\r\n')[0] ?? '', written });
    };
    socket.on('data', (c: Buffer) => {
      answer += c.toString('latin1');
      if (answer.includes('\r\n\r\n')) finish();
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    const pump = (): void => {
      while (!done && written < limit) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!done) reject(new Error(`no answer after ${written} bytes`));
    };
    socket.write(head, pump);
  });
}

void describe('Rhizome Direct server against hostile clients', () => {
  let t: TestNode;
  before(async () => {
    t = await startDirectNode();
  });
  after(() => t.destroy());

  void it('refuses a forged signature, a wrong payload and a lying size, storing nothing', async () => {
    const b = fixtureBundle('hostile-1', { size: 500 });
    const forged = Buffer.from(b.manifest);
    forged[forged.length - 50]! ^= 0x20;
    const wrong = Buffer.from(b.payload);
    wrong[10]! ^= 1;
    const cases: Array<[Buffer, string]> = [
      [formOf(part('manifest', forged), part('data', b.payload)), '422 Invalid manifest'],
      [formOf(part('manifest', b.manifest), part('data', wrong)), '422 Manifest inconsistent with supplied payload'],
      [formOf(part('manifest', b.manifest), part('data', b.payload.subarray(0, 499))), '422 Manifest inconsistent with supplied payload'],
      [formOf(part('manifest', b.manifest), part('data', Buffer.concat([b.payload, Buffer.of(0)]))), '422 Manifest inconsistent with supplied payload'],
      [formOf(part('manifest', Buffer.alloc(8193, 0x61)), part('data', b.payload)), '422 Invalid manifest'],
    ];
    for (const [body, expected] of cases) {
      const outcome = await exchange(t.nodePort, post('/rhizome/import', body));
      const got = outcome.responses[0]!;
      assert.equal(`${got.status} ${got.reason}`, expected);
      assert.match(got.headers.get('content-type') ?? '', /^text\/html/);
    }
    assert.equal(await bundleCount(t), 0);
  });

  void it('answers an endless payload as soon as it passes the declared size, and stores nothing', async () => {
    const b = fixtureBundle('hostile-2', { size: 1000 });
    const head = Buffer.concat([
      Buffer.from(`POST /rhizome/import HTTP/1.0\r\nContent-Length: ${2 ** 40}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n\r\n`),
      part('manifest', b.manifest),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n`),
    ]);
    const { statusLine, written } = await floodUntilAnswered(t.nodePort, head, Buffer.alloc(16 * 1024, 0x55), 256 * 1024 * 1024);
    assert.match(statusLine, / 422 Manifest inconsistent with supplied payload$/);
    assert.ok(written < 64 * 1024 * 1024, `${written} bytes written before the answer`);
    assert.equal(await bundleCount(t), 0);
  });

  void it('answers a flood of BARs (10^6 of them) once it has more than an enquiry may hold', async () => {
    const bars = 1_000_000;
    const head = Buffer.concat([
      Buffer.from(`POST /rhizome/enquiry HTTP/1.0\r\nContent-Length: ${10 + bars * 32 + 200}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n\r\n`),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n`),
      WHOLE_RANGE,
    ]);
    const { statusLine, written } = await floodUntilAnswered(t.nodePort, head, Buffer.alloc(32 * 1024, 0x7a), bars * 32);
    assert.match(statusLine, / 500 Internal Error: No response to enquiry$/);
    assert.ok(written < bars * 32, `answered after ${written} of ${bars * 32} bytes`);
  });

  void it('answers ranges the reference cannot walk (sizes up to 2^255) and stays bounded', async () => {
    for (const range of ['00000000ffffffffffff', 'ff00000000ffffffffff', '3fffffffff40ffffffff', '0a0000000000ffffffff']) {
      const outcome = await exchange(t.nodePort, post('/rhizome/enquiry', formOf(part('data', Buffer.from(range, 'hex')))));
      assert.equal(outcome.responses[0]?.status, 200, range);
    }
  });

  void it('keeps serving others while a slow sender holds a connection, and stores nothing of it', async () => {
    const b = fixtureBundle('hostile-3', { size: 100 });
    const body = formOf(part('manifest', b.manifest), part('data', b.payload));
    const slow = connect(t.nodePort, '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.write(post('/rhizome/import', body).subarray(0, 150));
    const other = await exchange(t.nodePort, post('/rhizome/enquiry', formOf(part('data', WHOLE_RANGE))));
    assert.equal(other.responses[0]?.status, 200);
    slow.destroy();
    assert.equal(await bundleCount(t), 0);
  });

  void it('refuses browsers (any Origin) before reading anything', async () => {
    const outcome = await exchange(t.nodePort, post('/rhizome/enquiry', formOf(part('data', WHOLE_RANGE)), 'Origin: https://evil.example\r\n'));
    assert.equal(outcome.responses[0]?.status, 403);
    const get = await exchange(t.nodePort, `GET /rhizome/manifestbyprefix/00 HTTP/1.0\r\nOrigin: null\r\n\r\n`);
    assert.equal(get.responses[0]?.status, 403);
  });
});

/** A peer that answers Rhizome Direct requests with `handler`. */
async function hostilePeer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server };
}

/** Answers an enquiry with one "I have" record for `bid`. */
function enquiryAnswer(bid: Buffer): Buffer {
  return Buffer.concat([WHOLE_RANGE, encodeRecord(RECORD_HAVE, bid.subarray(0, 15))]);
}

void describe('Rhizome Direct client against hostile peers', () => {
  let t: TestNode;
  before(async () => {
    t = await startDirectNode();
  });
  after(() => t.destroy());

  const lie = fixtureBundle('liar', { size: 4000 });
  const hash = toHex(createHash('sha512').update(lie.payload).digest());

  /** A peer that offers `lie`, with the manifest and payload answers given. */
  async function offering(manifest: Buffer, file: (res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
    return hostilePeer((req, res) => {
      req.resume();
      if (req.url === '/rhizome/enquiry') return res.end(enquiryAnswer(lie.bid));
      if (req.url?.startsWith('/rhizome/manifestbyprefix/')) return res.end(manifest);
      if (req.url === `/rhizome/file/${hash}`) return file(res);
      res.statusCode = 404;
      res.end();
    });
  }

  const cases: Array<[string, () => Promise<{ url: string; server: Server }>]> = [
    [
      'a forged manifest',
      () => {
        const forged = Buffer.from(lie.manifest);
        forged[forged.length - 50]! ^= 0x20;
        return offering(forged, (res) => res.end(lie.payload));
      },
    ],
    [
      'a payload that does not match its hash',
      () =>
        offering(lie.manifest, (res) => {
          const wrong = Buffer.from(lie.payload);
          wrong[0]! ^= 1;
          res.end(wrong);
        }),
    ],
    ['a payload longer than the manifest says', () => offering(lie.manifest, (res) => res.end(Buffer.concat([lie.payload, Buffer.alloc(10)])))],
    [
      'an endless payload',
      () =>
        offering(lie.manifest, (res) => {
          const block = Buffer.alloc(64 * 1024);
          const pump = (): void => {
            while (res.write(block));
            res.once('drain', pump);
          };
          pump();
        }),
    ],
    ['the manifest of another bundle', () => offering(fixtureBundle('other', { size: 4000 }).manifest, (res) => res.end(lie.payload))],
  ];

  for (const [what, make] of cases) {
    void it(`stores nothing from ${what}`, async () => {
      const { url, server } = await make();
      try {
        const summary = await t.node.direct.sync({ url, mode: 'pull', idleTimeoutMs: 5000 });
        assert.deepEqual([summary.received, summary.failed, summary.error], [0, 1, undefined], JSON.stringify(summary));
        assert.equal(await bundleCount(t), 0);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  }

  void it('pushes a bundle once however often an answer asks for it', async () => {
    const mine = fixtureBundle('asked-often', { size: 50_000 });
    await loadBundles(t.node, [mine]);
    let imports = 0;
    const greedy = await hostilePeer((req, res) => {
      req.resume();
      if (req.url === '/rhizome/enquiry') {
        const records = Array.from({ length: 5000 }, () => encodeRecord(RECORD_SEND, mine.bid.subarray(0, 15)));
        return res.end(Buffer.concat([WHOLE_RANGE, ...records]));
      }
      if (req.url === '/rhizome/import') imports++;
      res.statusCode = 201;
      res.end();
    });
    try {
      const summary = await t.node.direct.sync({ url: greedy.url, mode: 'push', idleTimeoutMs: 5000 });
      assert.deepEqual([summary.sent, summary.stats.roundTrips, imports], [1, 2, 1], JSON.stringify(summary));
    } finally {
      greedy.server.closeAllConnections();
      greedy.server.close();
    }
  });

  void it('gives up on an enquiry answer that never ends, and on a peer that never answers', async () => {
    const endless = await hostilePeer((req, res) => {
      req.resume();
      const block = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (res.write(block));
        res.once('drain', pump);
      };
      pump();
    });
    const silent = await hostilePeer((req) => req.resume());
    const before = await bundleCount(t);
    try {
      const a = await t.node.direct.sync({ url: endless.url, mode: 'sync', idleTimeoutMs: 5000 });
      assert.match(a.error ?? '', /longer than/);
      const b = await t.node.direct.sync({ url: silent.url, mode: 'sync', idleTimeoutMs: 300 });
      assert.match(b.error ?? '', /no answer/);
      assert.equal(await bundleCount(t), before);
    } finally {
      for (const p of [endless, silent]) {
        p.server.closeAllConnections();
        p.server.close();
      }
    }
  });
});
