/**
 * The reference's own MeshMS conversation (test/vectors/meshms): its plys and conversation
 * indexes imported here, with its identities, list byte for byte as the reference listed them —
 * rows, offsets, tokens, texts, flags and timestamps — and a newsince from one of its tokens
 * continues where that token points.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { importBundle, loadReferenceIdentities } from '../helpers/rhizome.js';
import { VECTORS } from '../helpers/vectors.js';
import { parsePartialTable } from '../helpers/meshms.js';

const BOB = 'AA6256760415F49C160CEED6252F3F6276ABBDDF9551435B23784AB44B906E40';
const CAROL = 'A5419541DEA710D921DD9E37F1DFECB3FB217A6D8E42EF9C6AC82DBD8EE7C71C';

const file = (rel: string): Buffer => readFileSync(VECTORS.file(`meshms/${rel}`));

/** The body of a captured response (after the blank line). */
function capturedBody(name: string): string {
  const raw = file(name);
  return raw.subarray(raw.indexOf('\r\n\r\n') + 4).toString('utf8');
}

async function importSet(t: TestNode, set: 'x1' | 'x2'): Promise<void> {
  for (const dir of [`${set}_ply_bob`, `${set}_ply_carol`, `${set}_private_0`, `${set}_private_1`]) {
    const r = await importBundle(t, file(`${dir}/manifest.rhm`), file(`${dir}/raw.bin`));
    assert.equal(r.status, 201, `${dir}: ${r.text}`);
  }
}

/** Every stored bundle's id and version, to see that listing wrote nothing. */
async function storeState(t: TestNode): Promise<string> {
  const r = await t.request('GET', '/restful/rhizome/bundlelist.json');
  return JSON.stringify(r.json<{ rows: unknown[][] }>().rows.map((row) => [row[3], row[4]]));
}

for (const [set, captures] of [
  ['x2', { bobCarol: 'r04_messagelist_bob_carol_after_read.http', carolBob: 'r05_messagelist_carol_bob_after_read.http', bob: 'r06_conversationlist_bob_after_read.http', carol: 'r07_conversationlist_carol_after_read.http' }],
  ['x1', { bobCarol: 'm07_messagelist_bob_carol.http', carolBob: 'm08_messagelist_carol_bob.http', bob: 'm09_conversationlist_bob.http', carol: 'm10_conversationlist_carol.http' }],
] as const) {
  void describe(`MeshMS vectors: the reference's plys and indexes (${set})`, () => {
    let t: TestNode;
    before(async () => {
      t = await startTestNode({ config: { 'api.restful.newsince_timeout': '0.3' } });
      await loadReferenceIdentities(t);
      await importSet(t, set);
    });
    after(async () => t.destroy());

    void it('messagelist.json is the reference body byte for byte, both ways; nothing is written', async () => {
      const stored = await storeState(t);
      const bc = await t.request('GET', `/restful/meshms/${BOB}/${CAROL}/messagelist.json`);
      assert.equal(bc.status, 200);
      assert.equal(bc.headers['content-type'], 'application/json');
      assert.equal(bc.text, capturedBody(captures.bobCarol));
      const cb = await t.request('GET', `/restful/meshms/${CAROL}/${BOB}/messagelist.json`);
      assert.equal(cb.status, 200);
      assert.equal(cb.text, capturedBody(captures.carolBob));
      // Everything was already acknowledged and the indexes are current: no ACK, no new index.
      assert.equal(await storeState(t), stored);
    });

    void it('conversationlist.json is the reference body byte for byte', async () => {
      const bob = await t.request('GET', `/restful/meshms/${BOB}/conversationlist.json`);
      assert.equal(bob.status, 200);
      assert.equal(bob.text, capturedBody(captures.bob));
      const carol = await t.request('GET', `/restful/meshms/${CAROL}/conversationlist.json`);
      assert.equal(carol.text, capturedBody(captures.carol));
    });

    void it('newsince from each row token of the reference list gives exactly the rows above it', async () => {
      for (const [my, their, capture] of [
        [BOB, CAROL, captures.bobCarol],
        [CAROL, BOB, captures.carolBob],
      ] as const) {
        const rows = parsePartialTable(capturedBody(capture)).rows;
        const replies = await Promise.all(rows.map((row) => t.request('GET', `/restful/meshms/${my}/${their}/newsince/${row[5]}/messagelist.json`)));
        replies.forEach((r, i) => {
          assert.equal(r.status, 200);
          assert.deepEqual(parsePartialTable(r.text).rows, rows.slice(0, i), `${capture} row ${i}`);
        });
      }
    });
  });
}

void describe('MeshMS vectors: newsince from the token the reference streamed from', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '1' } });
    await loadReferenceIdentities(t);
    await importSet(t, 'x1');
  });
  after(async () => t.destroy());

  void it('Am4s (their ply, 110, their_ack 44) lists what Carol saw after it: the ACK row first', async () => {
    const r = await t.request('GET', `/restful/meshms/${CAROL}/${BOB}/newsince/Am4s/messagelist.json`);
    assert.equal(r.status, 200);
    const full = parsePartialTable(capturedBody('m08_messagelist_carol_bob.http')).rows;
    // Their ACK now reaches 4175, past the token's 44: the synthetic ACK row comes before ">" 4175.
    assert.deepEqual(parsePartialTable(r.text).rows, full.slice(0, 4));
    assert.ok(!r.text.includes('"read_offset"'), 'newsince has no read_offset member');
  });
});
