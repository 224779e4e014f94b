/**
 * Crash safety seen from a client: the node runs as its own process while several clients insert
 * and append concurrently (tiny payloads kept in the database, payloads of a few hundred KiB kept
 * as files, journals growing by appends); it is SIGKILLed at a random moment, restarted, and
 * checked, several rounds over the same instance:
 *
 *   - every bundle that got a 201 is listed, and unless a later version replaced it, its .rhm is
 *     byte-identical to the 201 body;
 *   - every listed bundle's raw.bin is there and hashes to its filehash: no row whose payload is
 *     missing, no half-written payload;
 *   - PRAGMA integrity_check is ok (on the database exactly as the kill left it, too, where each
 *     payload row already has its whole file), tmp/ is empty after the restart and payloads/
 *     holds exactly the files the database names.
 *
 * The checks are test/helpers/store-audit.ts, shared with test/reliability/crash-campaign.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeMultipart, type PartSpec } from '../../src/http/multipart.js';
import { spawnNode, type ChildNode } from '../helpers/child-node.js';
import { makeInstance, request, type Reply } from '../helpers/node.js';
import { addParts, manifestFields } from '../helpers/rhizome.js';
import { auditStoreAfterRestart, auditStoreAsKilled, checkAckedBundles, type AckedBundle } from '../helpers/store-audit.js';

const ROUNDS = 5;
const WORKERS = 8;
const BOUNDARY = 'CrAsHbOuNdArY';

interface Journal {
  readonly bid: string;
  readonly secret: string;
}

function post(port: number, path: string, parts: readonly PartSpec[]): Promise<Reply> {
  const body = encodeMultipart(parts, BOUNDARY);
  return request(port, 'POST', path, {
    headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': body.length },
    body,
  });
}

/**
 * One client: inserts and appends one request at a time until the node dies. Each 201 is
 * recorded only once its whole response has arrived. Journals are owned by one client each, so a
 * journal is never appended to twice at once.
 */
async function client(port: number, acked: Map<string, AckedBundle>, journals: Journal[], counter: { n: number }): Promise<void> {
  for (;;) {
    const pick = randomInt(10);
    let r: Reply;
    try {
      if (pick < 4) {
        r = await post(port, '/restful/rhizome/insert', addParts({ manifest: `name=tiny${counter.n++}\n`, payload: randomBytes(randomInt(1, 2000)) }));
      } else if (pick < 7) {
        r = await post(port, '/restful/rhizome/insert', addParts({ manifest: `name=file${counter.n++}\n`, payload: randomBytes(randomInt(150_000, 300_000)) }));
      } else {
        const journal = journals.length > 0 && randomInt(3) > 0 ? journals.splice(randomInt(journals.length), 1)[0] : undefined;
        const payload = randomBytes(randomInt(1, journal ? 60_000 : 3000));
        r = await post(
          port,
          '/restful/rhizome/append',
          journal
            ? addParts({ bundleId: journal.bid, secret: journal.secret, manifest: '', payload })
            : addParts({ manifest: `name=journal${counter.n++}\n`, payload }),
        );
        if (r.status === 201) {
          const bid = manifestFields(r.body).get('id')!;
          journals.push({ bid, secret: r.headers['serval-rhizome-bundle-secret'] as string });
        } else if (journal) {
          journals.push(journal);
        }
      }
    } catch {
      return; // the node was killed
    }
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    const bid = f.get('id')!;
    const version = BigInt(f.get('version')!);
    const prior = acked.get(bid);
    if (!prior || prior.version < version) acked.set(bid, { version, signed: r.body });
  }
}

/**
 * The checks after a restart (test/helpers/store-audit.ts): the store's own, and every 201's
 * bundle. Payloads of rows up to `verifiedUpTo` were read back after an earlier restart and are
 * skipped (the final check reads everything). Returns the highest row id.
 */
async function checkAfterRestart(node: ChildNode, storeDir: string, acked: ReadonlyMap<string, AckedBundle>, verifiedUpTo = 0): Promise<number> {
  const audit = await auditStoreAfterRestart(node.port, storeDir, verifiedUpTo);
  await checkAckedBundles(node.port, audit, acked);
  return audit.maxId;
}

void describe('Rhizome over HTTP: SIGKILL during concurrent inserts', () => {
  void it(`every 201 survives and nothing partial is visible, over ${ROUNDS} kills`, { timeout: 120_000 }, async (t) => {
    const paths = makeInstance();
    const acked = new Map<string, AckedBundle>();
    const journals: Journal[] = [];
    const counter = { n: 0 };
    let node: ChildNode | undefined;
    let verified = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        node = await spawnNode(paths);
        if (round > 0) {
          verified = await checkAfterRestart(node, paths.storeDir, acked, verified);
          t.diagnostic(`round ${round}: restarted, ${acked.size} bundles acknowledged so far`);
        }
        const before = acked.size;
        const clients = Array.from({ length: WORKERS }, () => client(node!.port, acked, journals, counter));
        await new Promise((resolve) => setTimeout(resolve, randomInt(300, 1000)));
        node.child.kill('SIGKILL');
        assert.equal(await node.exited, 'SIGKILL');
        await Promise.all(clients);
        const inFlight = readdirSync(join(paths.storeDir, 'tmp')).length;
        t.diagnostic(`round ${round}: killed after ${acked.size - before} new acknowledgements, ${inFlight} payloads half-written`);
        assert.ok(existsSync(join(paths.storeDir, 'rhizome.db')));
        auditStoreAsKilled(paths.storeDir);
      }
      node = await spawnNode(paths);
      await checkAfterRestart(node, paths.storeDir, acked);
      t.diagnostic(`final: ${acked.size} bundles acknowledged, all present and intact`);
      assert.ok(acked.size > ROUNDS * 5, 'the clients got a fair number of bundles through');
    } finally {
      await node?.stop();
      rmSync(paths.root, { recursive: true, force: true });
    }
  });
});
