/**
 * bundlelist.json and the newsince long-poll (spec §3.3, §3.4, §1.11.5, §7.14.1).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HARRY, startTestNode, type TestNode } from '../helpers/node.js';
import { insert, loadReferenceIdentities, manifestFields, referenceIdentities } from '../helpers/rhizome.js';

const ids = referenceIdentities();
const BOB = ids.bob!.sid;

interface Table {
  header: string[];
  rows: unknown[][];
}

/** Reads a streamed table, recording when each chunk arrived. */
function stream(port: number, path: string): Promise<{ text: string; chunks: Array<{ at: number; text: string }>; status: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, (res) => {
      const chunks: Array<{ at: number; text: string }> = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => chunks.push({ at: Date.now() - started, text: c }));
      res.on('end', () => resolve({ text: chunks.map((c) => c.text).join(''), chunks, status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('bundle lists', () => {
  let t: TestNode;
  const bids: string[] = [];
  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '2s' } });
    await loadReferenceIdentities(t);
    for (let i = 0; i < 12; i++) {
      const r = await insert(t, { author: BOB, manifest: `name=bundle${i}\n${i % 3 === 0 ? 'service=wah\n' : ''}`, payload: `payload ${i}` });
      assert.equal(r.status, 201, r.text);
      bids.push(manifestFields(r.body).get('id')!);
    }
  });
  after(async () => t.destroy());

  void it('RhizomeList: every bundle, newest first, correct fields, only the first row with a token', async () => {
    const r = await t.request('GET', '/restful/rhizome/bundlelist.json');
    assert.equal(r.status, 200);
    const table = r.json<Table>();
    assert.deepEqual(table.header, ['.token', '_id', 'service', 'id', 'version', 'date', '.inserttime', '.author', '.fromhere', 'filesize', 'filehash', 'sender', 'recipient', 'name']);
    assert.equal(table.rows.length, 12);
    assert.deepEqual(table.rows.map((row) => row[3]), [...bids].reverse());
    const ids = table.rows.map((row) => row[1] as number);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
    assert.match(table.rows[0]![0] as string, /^[A-Za-z0-9_-]{32}$/);
    for (const row of table.rows.slice(1)) assert.equal(row[0], null);
    for (const row of table.rows) {
      assert.equal(row[7], BOB);
      assert.equal(row[8], 1);
      assert.equal(typeof row[4], 'number');
    }
    const last = table.rows[table.rows.length - 1]!;
    assert.equal(last[13], 'bundle0');
    assert.equal(last[2], 'wah');
    assert.equal(last[9], 9);
  });

  void it('filters: service, name LIKE (case-insensitive), sender; empty or invalid values are ignored', async () => {
    const count = async (q: string): Promise<number> => (await t.request('GET', `/restful/rhizome/bundlelist.json${q}`)).json<Table>().rows.length;
    assert.equal(await count('?service=wah'), 4);
    assert.equal(await count('?service=file'), 8);
    assert.equal(await count('?name=BUNDLE1%25'), 3);
    assert.equal(await count('?name=bundle_'), 10);
    assert.equal(await count('?service='), 12);
    assert.equal(await count('?sender=nonsense'), 12);
    assert.equal(await count(`?sender=${BOB}`), 0);
  });

  void it('newsince from a token lists only newer rows, each with a token, then rows inserted while open', async () => {
    const list = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<Table>();
    const token = list.rows[5]![0] ?? undefined;
    assert.equal(token, undefined, 'only the newest row has a token');
    const newest = list.rows[0]![0] as string;
    const streams = [0, 1, 2].map(() => stream(t.port, `/restful/rhizome/newsince/${newest}/bundlelist.json`));
    await new Promise((r) => setTimeout(r, 300));
    const added = await insert(t, { author: BOB, manifest: 'name=late\n', payload: 'arrived during newsince' });
    const lateBid = manifestFields(added.body).get('id');
    for (const s of await Promise.all(streams)) {
      assert.equal(s.status, 200);
      const table = JSON.parse(s.text) as Table;
      assert.equal(table.rows.length, 1);
      assert.equal(table.rows[0]![3], lateBid);
      assert.match(table.rows[0]![0] as string, /^[A-Za-z0-9_-]{32}$/);
      // The row arrived long before the stream closed at the timeout.
      const rowChunk = s.chunks.find((c) => c.text.includes(lateBid!));
      const last = s.chunks[s.chunks.length - 1]!;
      assert.ok(rowChunk && rowChunk.at < last.at - 500, 'row streamed as it arrived');
      assert.ok(last.text.endsWith('\n]\n}\n'));
    }
  });

  void it('newsince without a token lists everything; a foreign or broken token is 404', async () => {
    const s = await stream(t.port, '/restful/rhizome/newsince/bundlelist.json');
    const table = JSON.parse(s.text) as Table;
    assert.ok(table.rows.length >= 12);
    for (const row of table.rows) assert.match(row[0] as string, /^[A-Za-z0-9_-]{32}$/);
    assert.equal((await t.request('GET', '/restful/rhizome/newsince/IrMv3vMHSHuqWBk-0HR0oSsAAAAAAAAA/bundlelist.json')).status, 404);
    assert.equal((await t.request('GET', '/restful/rhizome/newsince/abc/bundlelist.json')).status, 404);
  });
});
