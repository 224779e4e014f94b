/**
 * The newsince long-poll at scale (spec §1.11.5, §3.4): 1,000 clients wait on one node running as
 * its own process. While they are connected and idle the node must use next to no CPU (waiting is
 * an event subscription and one timer each, nothing that polls); one insert must then reach every
 * one of the 1,000 streams, and each must end cleanly with the table terminator at the newsince
 * timeout.
 *
 * The clients are raw sockets (nothing is pooled or limited by an agent); nothing system-wide is
 * raised: 2,000 descriptors fit the usual limits.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { cpuTicks, spawnNode } from '../helpers/child-node.js';
import { HARRY, makeInstance, request, type Reply } from '../helpers/node.js';
import { encodeMultipart } from '../../src/http/multipart.js';
import { addParts, manifestFields } from '../helpers/rhizome.js';

const CLIENTS = 1000;
const BATCH = 100;
const TIMEOUT_S = 12;
const IDLE_MS = 2000;
/** Clock ticks per second of /proc/PID/stat (USER_HZ): 100 on Linux. */
const TICKS_PER_SECOND = 100;

interface Watcher {
  readonly socket: Socket;
  text: string;
  ended: boolean;
  readonly started: Promise<void>;
  readonly closed: Promise<void>;
}

function watch(port: number, path: string): Watcher {
  const socket = connect({ host: '127.0.0.1', port });
  let onStart: () => void = () => undefined;
  const w: Watcher = {
    socket,
    text: '',
    ended: false,
    started: new Promise<void>((resolve) => (onStart = resolve)),
    closed: new Promise<void>((resolve) => socket.once('close', () => resolve())),
  };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    w.text += chunk;
    if (w.text.includes('"rows":[')) onStart();
  });
  socket.on('end', () => {
    w.ended = true;
  });
  socket.on('error', () => undefined); // surfaces as a missing row or a missing end
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${HARRY}\r\nConnection: close\r\n\r\n`);
  return w;
}

/** The body of a chunked HTTP/1.1 response. */
function body(raw: string): { head: string; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end);
  let rest = raw.slice(end + 4);
  if (!/transfer-encoding: chunked/i.test(head)) return { head, body: rest };
  let out = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) break;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
  return { head, body: out };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function insert(port: number, name: string): Promise<Reply> {
  const form = encodeMultipart(addParts({ manifest: `name=${name}\n`, payload: `the payload of ${name}` }), 'FaNoUt');
  return request(port, 'POST', '/restful/rhizome/insert', {
    headers: { 'Content-Type': 'multipart/form-data; boundary=FaNoUt', 'Content-Length': form.length },
    body: form,
  });
}

void describe('newsince: 1,000 long-polls on one node', () => {
  void it('idle waiting costs no CPU; one insert reaches every stream; all end cleanly at the timeout', { timeout: 60_000 }, async (t) => {
    const paths = makeInstance({ 'api.restful.newsince_timeout': `${TIMEOUT_S}s` });
    const node = await spawnNode(paths);
    const watchers: Watcher[] = [];
    try {
      const first = await insert(node.port, 'before');
      assert.equal(first.status, 201, first.text);
      const list = (await request(node.port, 'GET', '/restful/rhizome/bundlelist.json')).json<{ rows: unknown[][] }>();
      const token = list.rows[0]![0] as string;
      const path = `/restful/rhizome/newsince/${token}/bundlelist.json`;

      const connectStarted = Date.now();
      for (let i = 0; i < CLIENTS; i += BATCH) {
        const batch = Array.from({ length: BATCH }, () => watch(node.port, path));
        watchers.push(...batch);
        await Promise.all(batch.map((w) => w.started));
      }
      const connectMs = Date.now() - connectStarted;
      assert.ok(connectMs < (TIMEOUT_S - 6) * 1000, `connecting took ${connectMs} ms, too long for the timeout`);
      for (const w of watchers) assert.match(w.text, /^HTTP\/1\.1 200 OK\r\n/);

      // Connected and waiting. Let the last responses settle, then measure the node's CPU time.
      await sleep(300);
      const before = cpuTicks(node.pid);
      await sleep(IDLE_MS);
      const idleTicks = cpuTicks(node.pid) - before;
      const idleMs = (idleTicks * 1000) / TICKS_PER_SECOND;
      t.diagnostic(`${CLIENTS} clients connected in ${connectMs} ms; node CPU while idle: ${idleMs} ms over ${IDLE_MS} ms`);
      assert.ok(idleMs <= IDLE_MS * 0.05, `idle long-polls used ${idleMs} ms of CPU in ${IDLE_MS} ms`);
      assert.ok(watchers.every((w) => !w.ended), 'no stream ended early');

      const sent = Date.now();
      const added = await insert(node.port, 'fanned-out');
      assert.equal(added.status, 201, added.text);
      const bid = manifestFields(added.body).get('id')!;
      const delivered = await until(() => watchers.every((w) => w.text.includes(bid)), 5000);
      const missing = watchers.filter((w) => !w.text.includes(bid)).length;
      assert.ok(delivered, `${missing} of ${CLIENTS} streams did not receive the new bundle`);
      t.diagnostic(`the new row reached all ${CLIENTS} streams in ${Date.now() - sent} ms`);

      await Promise.all(watchers.map((w) => w.closed));
      for (const w of watchers) {
        assert.ok(w.ended, 'the server ended the stream');
        const { body: text } = body(w.text);
        assert.ok(text.endsWith('\n]\n}\n'), 'the table terminator');
        const table = JSON.parse(text) as { rows: unknown[][] };
        assert.equal(table.rows.length, 1);
        assert.equal(table.rows[0]![3], bid);
      }
    } finally {
      for (const w of watchers) w.socket.destroy();
      await node.stop();
      rmSync(paths.root, { recursive: true, force: true });
    }
  });
});
