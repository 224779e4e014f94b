/**
 * The newsince long-polls of a node share one query and one rendering per (filter, position)
 * when bundles arrive (src/http/api/rhizome-read.ts). Whatever is shared, each long-poll must
 * still get exactly the rows after its own position that match its own filter, in row id order,
 * each once: at different positions, with different filters, through a burst larger than one
 * delivery, and after other long-polls went away.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HARRY, startTestNode, TEST_STORE, type TestNode } from '../helpers/node.js';
import { insert, manifestFields } from '../helpers/rhizome.js';

interface Table {
  header: string[];
  rows: unknown[][];
}

interface Poll {
  readonly done: Promise<Table>;
  readonly request: ClientRequest;
}

function poll(port: number, path: string): Poll {
  let request!: ClientRequest;
  const done = new Promise<Table>((resolve, reject) => {
    request = httpRequest({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(JSON.parse(text) as Table));
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
  return { done, request };
}

const column = (table: Table, name: string): unknown[] => table.rows.map((r) => r[table.header.indexOf(name)]);

void describe('newsince: long-polls woken together', () => {
  let t: TestNode;
  before(async () => {
    // Every long-poll here ends at the timeout, which must outlast a burst of 300 inserts: on
    // the PostgreSQL store, every commit is a round trip to the server, so a busy machine needs longer.
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': TEST_STORE === 'postgres' ? '10s' : '3s' } });
  });
  after(async () => t.destroy());

  const add = async (name: string, service?: string): Promise<string> => {
    const r = await insert(t, { manifest: `name=${name}\n${service ? `service=${service}\n` : ''}`, payload: `payload of ${name}` });
    assert.equal(r.status, 201, r.text);
    return manifestFields(r.body).get('id')!;
  };

  /** The newsince token of the newest bundle. */
  const newestToken = async (): Promise<string> => (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<Table>().rows[0]![0] as string;

  void it('each long-poll gets the rows after its own position that match its own filter, once, in order', async () => {
    await add('first');
    const early = await newestToken();
    await add('second', 'wah');
    const later = await newestToken();
    const polls = {
      earlyAll: poll(t.port, `/restful/rhizome/newsince/${early}/bundlelist.json`),
      earlyAgain: poll(t.port, `/restful/rhizome/newsince/${early}/bundlelist.json`),
      earlyWah: poll(t.port, `/restful/rhizome/newsince/${early}/bundlelist.json?service=wah`),
      laterAll: poll(t.port, `/restful/rhizome/newsince/${later}/bundlelist.json`),
      laterFile: poll(t.port, `/restful/rhizome/newsince/${later}/bundlelist.json?service=file`),
    };
    await new Promise((r) => setTimeout(r, 300));
    // Concurrent inserts: several bundles per group commit, so per notification.
    const added = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => add(`burst-${n}`, i % 2 === 0 ? 'wah' : undefined)));
    const tables = Object.fromEntries(await Promise.all(Object.entries(polls).map(async ([k, p]) => [k, await p.done] as const)));
    const all = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<Table>();
    const byBid = new Map(all.rows.map((r) => [r[3] as string, { id: r[1] as number, service: r[2] as string, name: r[13] as string }]));
    const second = [...byBid.values()].find((b) => b.name === 'second')!;
    const expect = (after: number, service?: string): string[] =>
      [...byBid.entries()]
        .filter(([, b]) => b.id > after && (service === undefined || b.service === service))
        .sort((x, y) => x[1].id - y[1].id)
        .map(([bid]) => bid);
    const first = [...byBid.values()].find((b) => b.name === 'first')!;
    assert.deepEqual(column(tables.earlyAll!, 'id'), expect(first.id));
    assert.deepEqual(column(tables.earlyAgain!, 'id'), expect(first.id));
    assert.deepEqual(column(tables.earlyWah!, 'id'), expect(first.id, 'wah'));
    assert.deepEqual(column(tables.laterAll!, 'id'), expect(second.id));
    assert.deepEqual(column(tables.laterFile!, 'id'), expect(second.id, 'file'));
    for (const bid of added) assert.ok(column(tables.laterAll!, 'id').includes(bid));
    // Every row carries its own token, and _id grows.
    for (const table of Object.values(tables)) {
      const ids = column(table, '_id') as number[];
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      assert.equal(new Set(column(table, '.token')).size, table.rows.length);
    }
  });

  void it('a burst of 300 bundles, in groups, reaches every long-poll whole', { timeout: 60_000 }, async () => {
    const from = await newestToken();
    const polls = [0, 1, 2].map(() => poll(t.port, `/restful/rhizome/newsince/${from}/bundlelist.json`));
    await new Promise((r) => setTimeout(r, 200));
    const added: string[] = [];
    for (let batch = 0; batch < 300; batch += 50) {
      added.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => add(`many-${batch + i}`)))));
    }
    for (const p of polls) {
      const bids = column(await p.done, 'id') as string[];
      assert.equal(bids.length, 300);
      assert.deepEqual([...bids].sort(), [...added].sort());
    }
  });

  void it('long-polls that went away do not hold up the ones still waiting', async () => {
    const from = await newestToken();
    const gone = Array.from({ length: 20 }, () => poll(t.port, `/restful/rhizome/newsince/${from}/bundlelist.json`));
    await new Promise((r) => setTimeout(r, 200));
    for (const p of gone) {
      p.done.catch(() => undefined);
      p.request.destroy();
    }
    const stays = poll(t.port, `/restful/rhizome/newsince/${from}/bundlelist.json`);
    await new Promise((r) => setTimeout(r, 200));
    const bid = await add('after-the-others');
    assert.deepEqual(column(await stays.done, 'id'), [bid]);
  });
});
