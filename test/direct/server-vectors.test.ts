/**
 * Rhizome Direct as servald serves it, byte for byte: every request recorded from a real servald
 * (test/vectors/direct, scripts/record-direct-vectors.ts) is sent, in the recorded order, to a
 * Tendril node holding the same store, and the answer must carry the same status, reason,
 * Content-Type, Content-Length, Content-Range and body. Only the HTTP version of the status line
 * and the Server, Date and Connection headers may differ; the three imports Tendril answers
 * differently on purpose (docs/rhizome-direct.md) are checked against Tendril's answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIRECT_STORES, type FixtureBundle } from '../helpers/direct-fixtures.js';
import { essentials, loadBundles, recordedExchanges, startDirectNode } from '../helpers/direct.js';
import type { TestNode } from '../helpers/node.js';
import { exchange } from '../helpers/raw-http.js';

/** Where Tendril answers otherwise, and what it answers instead. */
const TENDRIL_ANSWERS: Record<string, { status: number; reason: string }> = {
  '47_import_short_payload': { status: 422, reason: 'Manifest inconsistent with supplied payload' },
  '48_import_long_payload': { status: 422, reason: 'Manifest inconsistent with supplied payload' },
  '49_import_data_first': { status: 400, reason: "Missing 'manifest' part" },
};

function replay(group: string, store: () => FixtureBundle[]): void {
  void describe(`Rhizome Direct vectors: ${group}`, () => {
    let t: TestNode;
    before(async () => {
      t = await startDirectNode();
      await loadBundles(t.node, store());
    });
    after(() => t.destroy());

    void it('answers every recorded request as servald did', async () => {
      const exchanges = recordedExchanges(group);
      assert.ok(exchanges.length > 0);
      for (const x of exchanges) {
        const outcome = await exchange(t.nodePort, x.request, { waitMs: 30_000 });
        assert.equal(outcome.responses.length, 1, `${x.file}: one answer`);
        const got = outcome.responses[0]!;
        const instead = TENDRIL_ANSWERS[x.file];
        if (instead) {
          assert.deepEqual([got.status, got.reason], [instead.status, instead.reason], x.file);
          continue;
        }
        assert.deepEqual(essentials(got), essentials(x.response), `${x.file} (${x.note})`);
        assert.ok(got.body.equals(x.response.body), `${x.file}: body of ${got.body.length} bytes differs from servald's ${x.response.body.length}`);
        assert.ok(outcome.closed, `${x.file}: the connection closes, as the HTTP/1.0 client expects`);
      }
    });
  });
}

replay('probe', DIRECT_STORES.syncServer);
replay('sessions/sync', DIRECT_STORES.syncServer);
replay('sessions/rounds', DIRECT_STORES.roundsServer);
replay('cap', DIRECT_STORES.capServer);
