/**
 * What a Rhizome Direct sync costs on the wire: two Tendril nodes (in this process) holding the
 * same N bundles plus 5 of their own each, synced once; prints the summary with its round trips,
 * enquiries and bytes each way (RunningNode.direct.sync(...).stats, which the sync benchmark can
 * call the same way). Runs alone, outside `npm run bench`:
 *
 *   node --import tsx bench/direct-cost.ts [N]      (default 20000; the store is filled once, then copied)
 */
import { cpSync } from 'node:fs';
import { fixtureSet } from '../test/helpers/direct-fixtures.js';
import { loadBundles, startDirectNode } from '../test/helpers/direct.js';
import { makeInstance } from '../test/helpers/node.js';

const n = Number(process.argv[2] ?? 20_000);
const ours = makeInstance();
const theirs = makeInstance();
const fillStarted = Date.now();
const filler = await startDirectNode({ paths: ours });
await loadBundles(filler.node, fixtureSet('cost', n, (i) => 100 + (i % 900)));
await filler.stop();
cpSync(ours.storeDir, theirs.storeDir, { recursive: true });
const a = await startDirectNode({ paths: ours });
const b = await startDirectNode({ paths: theirs });
try {
  await loadBundles(a.node, fixtureSet('cost-a', 5));
  await loadBundles(b.node, fixtureSet('cost-b', 5));
  const summary = await a.node.direct.sync({ url: `http://127.0.0.1:${b.nodePort}`, mode: 'sync' });
  process.stdout.write(`${JSON.stringify({ bundles: n, fillSeconds: (Date.now() - fillStarted) / 1000, ...summary })}\n`);
} finally {
  await a.destroy();
  await b.destroy();
}
