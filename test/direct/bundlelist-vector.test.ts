/**
 * GET /restful/rhizome/bundlelist.json of 1,000 bundles, byte for byte as servald listed the same
 * store (test/vectors/direct/list, recorded by scripts/record-direct-vectors.ts: the bundles of
 * DIRECT_STORES.list imported one by one into a fresh servald). The store UUID in the token and
 * the insertion times are the only values of their own each store has: they are taken from the
 * recording, everything else must match as it is.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIRECT_STORES } from '../helpers/direct-fixtures.js';
import { loadBundles, recordedExchanges, startDirectNode } from '../helpers/direct.js';
import type { TestNode } from '../helpers/node.js';

/** The rows of a bundle list, one per line, split into their cells (no cell of this store holds a comma). */
function rowsOf(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('['))
    .map((line) => line.replace(/,$/, '').slice(1, -1).split(','));
}

describe('bundlelist.json of 1,000 bundles, as servald lists them', () => {
  let t: TestNode;
  before(async () => {
    t = await startDirectNode();
    // One at a time: row ids follow the order of import, as servald's did.
    await loadBundles(t.node, DIRECT_STORES.list(), 1);
  });
  after(() => t.destroy());

  it('has servald’s bytes once the token and insertion times are servald’s', async () => {
    const recorded = recordedExchanges('list')[0]!.response.body.toString('utf8');
    const ours = (await t.request('GET', '/restful/rhizome/bundlelist.json')).text;
    const theirRows = rowsOf(recorded);
    const ourRows = rowsOf(ours);
    assert.equal(ourRows.length, 1000);
    const header = JSON.parse(/"header":(\[[^\]]*\])/.exec(recorded)![1]!) as string[];
    const token = header.indexOf('.token');
    const inserttime = header.indexOf('.inserttime');
    let text = ours;
    for (let i = 0; i < ourRows.length; i++) {
      const row = [...ourRows[i]!];
      row[token] = theirRows[i]![token]!;
      row[inserttime] = theirRows[i]![inserttime]!;
      text = text.replace(`[${ourRows[i]!.join(',')}]`, `[${row.join(',')}]`);
    }
    assert.equal(text, recorded);
  });
});
