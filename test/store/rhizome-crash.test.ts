/**
 * Crash safety: a child process commits bundles in a loop and is SIGKILLed at a random moment,
 * several rounds over the same store. After each kill, before the store is reopened, the raw
 * database must pass integrity_check and already be consistent (every manifest's payload row and
 * file present, no payload row unreferenced: the commit path guarantees this, not recovery);
 * after reopening, every commit the child reported as resolved is there with a readable payload
 * whose SHA-512 matches, tmp/ is empty and no payload file or row is unreferenced.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openRhizomeStore } from '../../src/store/rhizome/open.js';
import { all, payloadFiles, readAll, sha512, tempDir } from './rhizome-helpers.js';

const ROUNDS = 8;
const CHILD = new URL('./rhizome-crash-child.ts', import.meta.url).pathname;

interface Reported {
  readonly bid: string;
  readonly version: bigint;
  readonly filehash: string;
}

/** Runs the child until a random moment (sometimes before it is even ready), then SIGKILLs it. */
async function runAndKill(storeDir: string): Promise<Reported[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, storeDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (text: string) => {
      output += text;
      if (output.includes('ready\n')) resolve();
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (randomInt(5) === 0) await new Promise((resolve) => setTimeout(resolve, randomInt(50, 400)));
  else {
    await Promise.race([ready, exited]);
    await new Promise((resolve) => setTimeout(resolve, randomInt(20, 700)));
  }
  child.kill('SIGKILL');
  await exited;
  assert.doesNotMatch(output, /^error/m);
  const lines = output.split('\n');
  lines.pop(); // a line cut by the kill is not a report
  return lines
    .filter((line) => line !== 'ready')
    .map((line) => {
      const [bid, version, filehash] = line.split(' ');
      return { bid: bid!, version: BigInt(version!), filehash: filehash! };
    });
}

/** The database as the crash left it, before recovery has touched anything. */
function checkRawState(storeDir: string): void {
  const db = new Database(join(storeDir, 'rhizome.db'));
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    if (Number(db.pragma('user_version', { simple: true })) === 0) {
      // Killed before the schema's transaction committed (an early kill, on a loaded machine
      // often before the store is open): then there must be no table at all, not half a schema.
      assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(), [], 'no schema, or all of it');
      return;
    }
    const missing = db
      .prepare('SELECT count(*) AS n FROM manifests WHERE filesize > 0 AND filehash NOT IN (SELECT hash FROM payloads)')
      .get() as { n: number };
    assert.equal(missing.n, 0, 'every manifest has its payload row');
    const unreferenced = db
      .prepare('SELECT count(*) AS n FROM payloads WHERE hash NOT IN (SELECT filehash FROM manifests WHERE filehash IS NOT NULL)')
      .get() as { n: number };
    assert.equal(unreferenced.n, 0, 'no payload row without a manifest');
    const files = db.prepare('SELECT hash, length FROM payloads WHERE data IS NULL').all() as Array<{ hash: Buffer; length: number }>;
    for (const { hash, length } of files) {
      const hex = hash.toString('hex');
      assert.equal(statSync(join(storeDir, 'payloads', hex.slice(0, 2), hex)).size, length, 'payload file durable before its row');
    }
  } finally {
    db.close();
  }
}

async function checkAfterReopen(storeDir: string, reported: readonly Reported[]): Promise<number> {
  const store = await openRhizomeStore({ dir: storeDir, databaseSize: undefined, minFreeSpace: 0n, maxBlobSize: 4096 });
  let count = 0;
  try {
    for (const r of reported) {
      const stored = await store.get(Buffer.from(r.bid, 'hex'));
      assert.ok(stored, `acknowledged bundle ${r.bid} survives`);
      assert.ok(stored.version >= r.version);
      if (stored.version === r.version) assert.equal(stored.filehash?.toString('hex') ?? '-', r.filehash);
    }
    for (const bundle of await all(store.list({}, { order: 'asc' }))) {
      count++;
      if (bundle.filesize === 0n) continue;
      const stream = await store.readPayload(bundle.filehash!);
      assert.ok(stream, 'payload readable');
      const bytes = await readAll(stream); // fails on a hash mismatch
      assert.equal(BigInt(bytes.length), bundle.filesize);
      assert.deepEqual(sha512(bytes), bundle.filehash);
    }
    assert.deepEqual(readdirSync(join(storeDir, 'tmp')), []);
  } finally {
    await store.close();
  }
  const db = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    const external = (db.prepare('SELECT hash FROM payloads WHERE data IS NULL').all() as Array<{ hash: Buffer }>).map((r) => r.hash.toString('hex'));
    assert.deepEqual(payloadFiles(storeDir).sort(), external.sort(), 'exactly the files rows name');
    const unreferenced = db
      .prepare('SELECT count(*) AS n FROM payloads WHERE hash NOT IN (SELECT filehash FROM manifests WHERE filehash IS NOT NULL)')
      .get() as { n: number };
    assert.equal(unreferenced.n, 0);
  } finally {
    db.close();
  }
  return count;
}

describe('Rhizome store: crash safety', () => {
  it(`loses no acknowledged commit and leaves nothing half-done over ${ROUNDS} SIGKILLs`, { timeout: 60_000 }, async (t) => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    try {
      const acknowledged: Reported[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const reported = await runAndKill(storeDir);
        acknowledged.push(...reported);
        try {
          statSync(join(storeDir, 'rhizome.db'));
        } catch {
          continue; // killed before the store was created
        }
        checkRawState(storeDir);
        const count = await checkAfterReopen(storeDir, acknowledged);
        t.diagnostic(`round ${round}: ${reported.length} acknowledged, ${count} bundles stored`);
      }
      assert.ok(acknowledged.length > 0, 'the child got some commits through');
    } finally {
      cleanup();
    }
  });
});
