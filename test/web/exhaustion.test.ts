/**
 * Exhaustion (issue 14, finding 5), against a node in its own process so that its memory and
 * descriptors can be read from /proc: idle connections, long-polls opened and abandoned in a loop,
 * and long-polls held open, from one client address, while a second client (another loopback
 * address: each 127.x.y.z is a client of its own) is served throughout; a crowd of addresses
 * reaching the total limit, while the control socket still answers; a long-poll whose client
 * half-closes ending at once; and a dedicated web server's abandoned long-polls ending at once on
 * the node, the per-client limits applying to the client it reports. Counts are small; the
 * node's limits are set low to match (api.restful.max_*).
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { rssBytes, spawnNode, type ChildNode } from '../helpers/child-node.js';
import { unixRequest } from '../helpers/control.js';
import { HARRY, makeInstance, request } from '../helpers/node.js';
import { parseResponses } from '../helpers/raw-http.js';
import { spawnWebServer, type ChildWebServer } from '../helpers/web.js';
import type { InstancePaths } from '../../src/node/instance.js';

const LIST = '/restful/keyring/identities.json';
const NEWSINCE = '/restful/rhizome/newsince/bundlelist.json';
const PER_CLIENT = 30;
const TOTAL = 150;
const LONG_POLLS_PER_CLIENT = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw client connection from `from` (a loopback address), with what it received. */
interface Raw {
  readonly socket: Socket;
  received: string;
  readonly closed: Promise<void>;
}

function open(port: number, from: string, request?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    const raw: Raw = { socket, received: '', closed: new Promise((r) => socket.once('close', () => r())) };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (raw.received += chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (request !== undefined) socket.write(request);
      resolve(raw);
    });
    socket.once('error', reject);
  });
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${HARRY}\r\n${extra}\r\n`;

/** Polls `condition` until true; fails after `ms`. */
async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

/** The figures of /restful/system this test reads. */
interface Security {
  readonly connections: number;
  readonly connections_refused: number;
  readonly long_polls: number;
}

const descriptors = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe('exhaustion: connections and long-polls within limits, a second client served throughout', () => {
  let paths: InstancePaths;
  let node: ChildNode;
  let web: ChildWebServer | undefined;

  before(async () => {
    paths = makeInstance({
      'api.restful.max_connections': String(TOTAL),
      'api.restful.max_connections_per_client': String(PER_CLIENT),
      'api.restful.max_long_polls': '100',
      'api.restful.max_long_polls_per_client': String(LONG_POLLS_PER_CLIENT),
      // Long: an abandoned long-poll that lingered would still be there when the test looks.
      'api.restful.newsince_timeout': '60s',
    });
    node = await spawnNode(paths);
  });
  after(async () => {
    await web?.stop();
    await node?.stop();
    rmSync(paths.root, { recursive: true, force: true });
  });

  /** The second client: a request from 127.0.0.1 that must be answered. */
  async function served(): Promise<void> {
    const r = await request(node.port, 'GET', LIST);
    assert.equal(r.status, 200, r.text);
  }

  async function security(): Promise<Security> {
    const r = await request(node.port, 'GET', '/restful/system');
    assert.equal(r.status, 200, r.text);
    return r.json<{ node: { security: Security } }>().node.security;
  }

  it('idle connections: one address gets its share and no more (429), the second client and the control socket are served', async () => {
    const fds = descriptors(node.pid);
    const idle = await Promise.all(Array.from({ length: PER_CLIENT + 20 }, () => open(node.port, '127.0.0.2')));
    await until('the excess refused', () => idle.filter((c) => c.received.includes('429 Too many connections from this client')).length === 20);
    for (const c of idle.filter((c) => c.received !== '')) {
      const [reply] = parseResponses(Buffer.from(c.received, 'latin1'), true).responses;
      assert.equal(reply?.headers.get('tendril-error'), 'LIMIT_CLIENT_CONNECTIONS');
      assert.equal(reply?.headers.get('content-type'), 'application/json');
    }
    await served();
    const control = await unixRequest(paths.controlSocket, 'GET', LIST);
    assert.equal(control.status, 200);
    assert.ok(descriptors(node.pid) <= fds + PER_CLIENT + 10, 'descriptors bounded');
    for (const c of idle) c.socket.destroy();
    await until('connections released', async () => (await security()).connections <= 1);
  });

  it('a crowd of addresses reaching the total: 503 beyond it, descriptors bounded, the control socket still answers; all served again after', async () => {
    const fds = descriptors(node.pid);
    const crowd: Raw[] = [];
    for (let a = 10; a < 10 + Math.ceil((TOTAL + 30) / PER_CLIENT); a++) {
      crowd.push(...(await Promise.all(Array.from({ length: PER_CLIENT }, () => open(node.port, `127.0.0.${a}`)))));
    }
    await until('the excess refused', () => crowd.some((c) => c.received.includes('503 Too many connections')));
    assert.ok(descriptors(node.pid) <= fds + TOTAL + 10, `descriptors bounded: ${descriptors(node.pid)}`);
    assert.equal((await unixRequest(paths.controlSocket, 'GET', LIST)).status, 200, 'the CLI still reaches the node');
    for (const c of crowd) c.socket.destroy();
    await until('connections released', async () => {
      try {
        return (await security()).connections <= 1;
      } catch {
        return false;
      }
    });
    await served();
    assert.ok((await security()).connections_refused >= 20 + 30);
  });

  it('long-polls opened and abandoned in a loop end at once, memory returns to its baseline (±20%), the second client is served throughout', async () => {
    const round = async (): Promise<void> => {
      const polls = await Promise.all(Array.from({ length: LONG_POLLS_PER_CLIENT }, () => open(node.port, '127.0.0.3', get(NEWSINCE))));
      await until('long-polls started', () => polls.every((p) => p.received.includes('"rows":[')));
      for (const p of polls) p.socket.destroy();
      await served();
    };
    await round();
    await until('the warm-up long-polls ended', async () => (await security()).long_polls === 0);
    const baseline = rssBytes(node.pid);
    const fds = descriptors(node.pid);
    for (let i = 0; i < 30; i++) await round();
    // All 300 gone long before their 60 s: each ended when its client left.
    await until('abandoned long-polls ended', async () => {
      const s = await security();
      return s.long_polls === 0 && s.connections <= 1;
    });
    assert.ok(descriptors(node.pid) <= fds + 5, `descriptors back: ${descriptors(node.pid)} vs ${fds}`);
    const rss = rssBytes(node.pid);
    assert.ok(rss <= baseline * 1.2, `RSS ${Math.round(rss / 1048576)} MiB after 300 abandoned long-polls, baseline ${Math.round(baseline / 1048576)} MiB`);
  });

  it('long-polls held open: one address gets its share (429 at once, a JSON result), another still gets its own', async () => {
    const held = await Promise.all(Array.from({ length: LONG_POLLS_PER_CLIENT }, () => open(node.port, '127.0.0.4', get(NEWSINCE))));
    await until('long-polls started', () => held.every((p) => p.received.includes('"rows":[')));
    const over = await open(node.port, '127.0.0.4', get(NEWSINCE, 'Connection: close\r\n'));
    await over.closed;
    const [reply] = parseResponses(Buffer.from(over.received, 'latin1'), true).responses;
    assert.equal(reply?.status, 429);
    assert.equal(reply?.headers.get('tendril-error'), 'LIMIT_CLIENT_LONG_POLLS');
    assert.deepEqual(JSON.parse(reply.body.toString()), { http_status_code: 429, http_status_message: 'Too many long-polls from this client' });
    const mine = await open(node.port, '127.0.0.1', get(NEWSINCE));
    await until('the second client long-polls', () => mine.received.includes('"rows":['));
    await served();
    for (const p of [...held, mine]) p.socket.destroy();
    await until('released', async () => (await security()).long_polls === 0);
  });

  it('a long-poll whose client half-closes finishes its table at once and closes', async () => {
    const p = await open(node.port, '127.0.0.5', get(NEWSINCE));
    await until('started', () => p.received.includes('"rows":['));
    p.socket.end();
    await p.closed;
    const [reply] = parseResponses(Buffer.from(p.received, 'latin1'), true).responses;
    assert.equal(reply?.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(reply.body.toString()) as object), ['header', 'rows']);
  });

  it('through a dedicated web server: abandoned long-polls end at once on the node, and the limits are the real client’s', async () => {
    web = await spawnWebServer(paths, ['--mode=upstream', '--port=0']);
    const polls = await Promise.all(Array.from({ length: LONG_POLLS_PER_CLIENT }, () => open(web!.port, '127.0.0.6', get(NEWSINCE))));
    await until('started', () => polls.every((p) => p.received.includes('"rows":[')));
    const over = await open(web.port, '127.0.0.6', get(NEWSINCE, 'Connection: close\r\n'));
    await over.closed;
    assert.match(over.received, /^HTTP\/1\.1 429 /, 'the per-client limit applies to the client the dedicated server reports');
    const other = await open(web.port, '127.0.0.7', get(NEWSINCE));
    await until('another client through the same server long-polls', () => other.received.includes('"rows":['));
    assert.equal((await security()).long_polls, LONG_POLLS_PER_CLIENT + 1);
    for (const p of [...polls, other]) p.socket.destroy();
    await until('the node ended them', async () => (await security()).long_polls === 0);
  });
});
