/**
 * The Serval Java client's route call (test/vectors/java-route/): its exact request bytes, replayed
 * against a node whose sync link to another node is up, get an answer the Java parser
 * (`RouteIdentityList`) accepts — required columns present, non-null and typed — with the rows the
 * recorded Java run printed: two own identities at hop 0, the peer's primary at 1 (unicast), its
 * second identity at 2 (indirect).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/cli.js';
import { eventually, startSyncNode, tableObjects, type SyncNode } from '../helpers/sync.js';

const VECTORS = join(REPO_ROOT, 'test', 'vectors', 'java-route');

/** Sends `bytes` and reads one HTTP/1.1 response of known length (the connection is kept alive, as the Java client asked). */
function exchange(port: number, bytes: Buffer): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error('no complete answer')), 30_000);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = got.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (got.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ head, body: got.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const REQUIRED = { sid: 'string', is_self: 'boolean', hop_count: 'number', reachable_broadcast: 'boolean', reachable_unicast: 'boolean', reachable_indirect: 'boolean' } as const;

void describe('the Serval Java client’s route call', { timeout: 120_000 }, () => {
  let a: SyncNode;
  let b: SyncNode;

  before(async () => {
    [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
    for (const [n, q] of [[a, 'did=5551111&name=Alice'], [a, 'did=5552222&name=Alice%20too'], [b, ''], [b, '']] as const) {
      const r = await n.request('POST', `/restful/keyring/add?${q}`, { headers: { 'Content-Length': 0 } });
      assert.equal(r.status, 201, r.text);
    }
    await a.addPeer('b', b);
    await eventually('four routes', async () => (tableObjects(await a.request('GET', '/restful/route/all.json')).length === 4 ? true : undefined));
  });
  after(async () => {
    await Promise.all([a, b].map((n) => n?.destroy()));
  });

  void it('answers the recorded request with a table the Java parser reads, rows as the recorded run printed them', async () => {
    const recorded = readFileSync(join(VECTORS, 'route_all.request'), 'latin1');
    assert.match(recorded, /^GET \/restful\/route\/all\.json HTTP\/1\.1\r\nAuthorization: Basic /);
    const request = Buffer.from(recorded.replace(/\r\nHost: [^\r]*/, `\r\nHost: 127.0.0.1:${a.apiPort}`), 'latin1');
    const { head, body } = await exchange(a.apiPort, request);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nContent-Type: application\/json\r\n/i);
    const table = JSON.parse(body) as { header: string[]; rows: unknown[][] };
    for (const column of [...Object.keys(REQUIRED), 'did', 'name']) assert.ok(table.header.includes(column), column);
    const rows = table.rows.map((row) => Object.fromEntries(table.header.map((h, i) => [h, row[i]])));
    for (const row of rows) {
      for (const [column, type] of Object.entries(REQUIRED)) assert.equal(typeof row[column], type, `${column} of ${JSON.stringify(row)}`);
      assert.match(String(row.sid), /^[0-9A-F]{64}$/);
      for (const column of ['did', 'name']) assert.ok(row[column] === null || typeof row[column] === 'string', column);
    }
    // The recorded run's pattern: sid=…, did=…, name=…, isSelf=…, hopCount=…, reachable…
    const pattern = (line: string): string => line.replace(/^sid=[0-9A-F]{64}, /, '');
    const recordedLines = readFileSync(join(VECTORS, 'route_all.java-stdout.txt'), 'utf8').trim().split('\n').map(pattern).sort();
    const lines = rows
      .map((r) => `did=${String(r.did)}, name=${String(r.name)}, isSelf=${String(r.is_self)}, hopCount=${String(r.hop_count)}, reachableBroadcast=${String(r.reachable_broadcast)}, reachableUnicast=${String(r.reachable_unicast)}, reachableIndirect=${String(r.reachable_indirect)}`)
      .sort();
    assert.deepEqual(lines, recordedLines);
  });
});
