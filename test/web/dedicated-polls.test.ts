/**
 * Many long-polls held open through one dedicated web server (its own process) must not starve
 * the other clients of that server: every client connection is a stream of the server's one link
 * to the node, not a connection from a bounded pool. 600 newsince long-polls stay open while
 * another client is served throughout; then one insert reaches every long-poll.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { HARRY, startTestNode } from '../helpers/node.js';
import { insert, manifestFields } from '../helpers/rhizome.js';
import { spawnWebServer, webRequest } from '../helpers/web.js';

const POLLS = 600;
const OTHER_REQUESTS = 30;
const LIST = '/restful/keyring/identities.json';

interface Held {
  readonly socket: Socket;
  text: string;
}

/** Opens a long-poll over a raw socket; resolves once its table head has arrived. */
function hold(port: number): Promise<Held> {
  return new Promise((resolve, reject) => {
    const h: Held = { socket: connect(port, '127.0.0.1'), text: '' };
    h.socket.setEncoding('latin1');
    const timer = setTimeout(() => reject(new Error(`no table head within 30 s: ${JSON.stringify(h.text.slice(0, 200))}`)), 30_000);
    h.socket.on('data', (chunk: string) => {
      h.text += chunk;
      if (h.text.includes('"rows":[')) {
        clearTimeout(timer);
        resolve(h);
      }
    });
    h.socket.on('error', reject);
    h.socket.write(`GET /restful/rhizome/newsince/bundlelist.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${HARRY}\r\n\r\n`);
  });
}

/** Resolves with `p`, or rejects once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

void describe('many long-polls through one dedicated web server', () => {
  void it(`${POLLS} open long-polls: other requests are still served, and one insert reaches every poll`, { timeout: 240_000 }, async () => {
    const t = await startTestNode({ config: { 'api.restful.newsince_timeout': '200' } });
    const web = await spawnWebServer(t.paths, ['--mode=upstream', '--port=0']);
    const held: Held[] = [];
    try {
      for (let batch = 0; batch < POLLS; batch += 100) {
        held.push(...(await Promise.all(Array.from({ length: Math.min(100, POLLS - batch) }, () => hold(web.port)))));
      }
      assert.equal(held.length, POLLS);

      // Another client, one request after another, while every long-poll stays open.
      for (let i = 0; i < OTHER_REQUESTS; i++) {
        const r = await within(webRequest(web.url, 'GET', LIST, { headers: { Authorization: HARRY } }), 20_000, `request ${i}`);
        assert.equal(r.status, 200, r.text);
      }
      const stillOpen = held.filter((h) => !h.socket.destroyed).length;
      assert.equal(stillOpen, POLLS, 'every long-poll is still open');

      // One insert reaches them all.
      const r = await within(insert(t, { manifest: 'name=to-all.txt\n', payload: 'for every poll' }), 30_000, 'insert');
      assert.equal(r.status, 201, r.text);
      const bid = manifestFields(r.body).get('id')!;
      const seen = (h: Held): Promise<void> =>
        new Promise((resolve) => {
          const check = (): void => {
            if (!h.text.includes(bid)) return;
            h.socket.off('data', check);
            resolve();
          };
          h.socket.on('data', check);
          check();
        });
      await within(Promise.all(held.map(seen)), 60_000, `the new row reaching all ${POLLS} long-polls (${held.filter((h) => h.text.includes(bid)).length} got it)`);
    } finally {
      for (const h of held) h.socket.destroy();
      await web.stop();
      await t.destroy();
    }
  });
});
