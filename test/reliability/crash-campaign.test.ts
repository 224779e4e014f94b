/**
 * The crash campaign: one instance, many rounds. In each, the node runs as its own process while
 * concurrent clients make a mixed workload — Rhizome inserts (payloads kept in the database and as
 * files), journal appends, MeshMS messages between three identities, keyring adds, updates and
 * removals — and is SIGKILLed at a random moment. The kill must leave the database intact and no
 * payload row without its file; the node must start again (no stale lock), and then every write
 * that got its success status is there and intact, a write the kill cut off is there whole or not
 * at all, nothing partial is visible (no half payload, no orphan payload file, tmp/ empty, no
 * keyring temporaries) and integrity_check passes. The ledgers (test/helpers/ledger-*.ts) record
 * the writes and audit each restart; test/helpers/store-audit.ts checks the store.
 *
 * `npm test` runs a few rounds; for figures, run longer:
 *   TENDRIL_CRASH_ROUNDS=50 node --import tsx --test test/reliability/crash-campaign.test.ts
 * The last diagnostic line sums up what was checked.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { spawnNode, type ChildNode } from '../helpers/child-node.js';
import { auditKeyringAsKilled, KeyringLedger } from '../helpers/ledger-keyring.js';
import { MeshmsLedger } from '../helpers/ledger-meshms.js';
import { RhizomeLedger } from '../helpers/ledger-rhizome.js';
import { makeInstance, request } from '../helpers/node.js';
import { auditStoreAfterRestart, auditStoreAsKilled } from '../helpers/store-audit.js';

const ROUNDS = roundsFromEnv(process.env.TENDRIL_CRASH_ROUNDS, 6);
const CLIENTS = 6;
const MESHMS_IDENTITIES = 3;
/** The kill comes this long after the clients start: during start-up traffic as well as later. */
const KILL_AFTER_MS = [50, 1500] as const;

function roundsFromEnv(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TENDRIL_CRASH_ROUNDS must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

interface Ledgers {
  readonly rhizome: RhizomeLedger;
  readonly meshms: MeshmsLedger;
  readonly keyring: KeyringLedger;
}

/** One client: writes of every kind, one at a time, until the node dies under one. */
async function client(port: number, l: Ledgers): Promise<void> {
  for (;;) {
    const pick = randomInt(20);
    const ledger = pick < 7 && l.meshms.canWrite() ? l.meshms : pick < 12 ? l.keyring : l.rhizome;
    if (!(await ledger.write(port))) return;
  }
}

/** Starts the node; that it starts at all after a kill is one of the guarantees. */
async function start(paths: InstancePaths, after: string): Promise<ChildNode> {
  try {
    return await spawnNode(paths);
  } catch (err) {
    assert.fail(`the node did not start ${after}: ${(err as Error).message}`);
  }
}

void describe('crash campaign: SIGKILL during a mixed workload', () => {
  void it(`every acknowledged write survives ${ROUNDS} kills, and nothing partial is visible`, { timeout: 60_000 + ROUNDS * 30_000 }, async (t) => {
    const paths = makeInstance({ 'log.level': 'warn' });
    // The file carries its own PIN derivation cost: the cheapest, so PINs cost nothing here.
    writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
    let node: ChildNode | undefined;
    let passed = false;
    try {
      node = await start(paths, 'the first time');
      const sids: string[] = [];
      for (let i = 0; i < MESHMS_IDENTITIES; i++) {
        const r = await request(node.port, 'POST', `/restful/keyring/add?name=meshms${i}`);
        assert.equal(r.status, 201, r.text);
        sids.push(r.json<{ identity: { sid: string } }>().identity.sid);
      }
      const l: Ledgers = { rhizome: new RhizomeLedger(), meshms: new MeshmsLedger(sids), keyring: new KeyringLedger(new Set(sids)) };
      let verified = 0;
      const checked = { bundles: 0, identities: 0, messages: 0 };
      /** Everything a restarted node must show; `full` reads back every payload, not only new ones. */
      const audit = async (port: number, full: boolean): Promise<void> => {
        // First, before any request that writes (MeshMS lists append acknowledgements).
        const store = await auditStoreAfterRestart(port, paths.storeDir, full ? 0 : verified);
        verified = store.maxId;
        const strays = readdirSync(paths.root).filter((f) => f.startsWith('keyring.tdk.tmp-'));
        assert.deepEqual(strays, [], 'the node removed what interrupted keyring writes left');
        checked.bundles = await l.rhizome.audit(port, store);
        checked.identities = await l.keyring.audit(port);
        checked.messages = await l.meshms.audit(port);
      };
      const acked = (): number => {
        const [r, m, k] = [l.rhizome.counts, l.meshms.counts, l.keyring.counts];
        return r.tinyInserts + r.fileInserts + r.journalsCreated + r.appends + m.sends + k.adds + k.updates + k.removes;
      };

      for (let round = 0; round < ROUNDS; round++) {
        if (round > 0) {
          node = await start(paths, `after kill ${round}`);
          await audit(node.port, false);
        }
        const before = acked();
        const port = node.port;
        const clients = Promise.allSettled(Array.from({ length: CLIENTS }, () => client(port, l)));
        const delay = randomInt(...KILL_AFTER_MS);
        await new Promise((resolve) => setTimeout(resolve, delay));
        node.child.kill('SIGKILL');
        assert.equal(await node.exited, 'SIGKILL', 'the node was killed, not stopped');
        for (const c of await clients) if (c.status === 'rejected') throw c.reason;
        const halfWritten = readdirSync(join(paths.storeDir, 'tmp')).length;
        t.diagnostic(`round ${round}: killed after ${delay} ms, ${acked() - before} writes acknowledged, ${halfWritten} payloads half-written`);
        auditStoreAsKilled(paths.storeDir);
        auditKeyringAsKilled(paths);
      }
      node = await start(paths, `after kill ${ROUNDS}`);
      await audit(node.port, true);
      await node.stop();

      const [r, m, k] = [l.rhizome.counts, l.meshms.counts, l.keyring.counts];
      // Each kind of write was made and checked, or the campaign proved less than it claims.
      for (const [kind, n] of Object.entries({ ...r, ...m, ...k })) {
        if (!/Unacked$/.test(kind)) assert.ok(n > 0, `some ${kind} were acknowledged`);
      }
      const landed = r.appendsLandedUnacked + m.landedUnacked + k.landedUnacked;
      t.diagnostic(
        `crash campaign: ${ROUNDS} rounds, ${ROUNDS} kills, ${acked()} acknowledged writes, all present and intact: ` +
          `${r.tinyInserts} small inserts, ${r.fileInserts} file inserts, ${r.journalsCreated} journals created, ${r.appends} appends, ` +
          `${m.sends} MeshMS messages, ${k.adds} keyring adds, ${k.updates} updates, ${k.removes} removals; ` +
          `finally listed: ${checked.bundles} acknowledged bundles, ${checked.messages} messages at both ends, ${checked.identities} identities; ` +
          `writes cut off by a kill: ${landed} landed whole, ${r.appendsLostUnacked + m.lostUnacked + k.lostUnacked} left no trace (Rhizome inserts not counted)`,
      );
      passed = true;
    } finally {
      await node?.stop();
      // A failed campaign's instance is kept: it is the evidence.
      if (passed) rmSync(paths.root, { recursive: true, force: true });
      else t.diagnostic(`instance kept for inspection: ${paths.root}`);
    }
  });
});
