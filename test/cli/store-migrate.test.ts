/**
 * `tendril store migrate`: a whole store (bundles of every payload kind, keyring slots with and
 * without a PIN, API tokens) copied from SQLite into PostgreSQL and back, by the CLI as a user
 * runs it. Checked: every bundle arrives byte for byte; the identities and tokens work on the far
 * side; a run cut short goes on where it stopped; the source is never modified; a terminal shows
 * a progress bar.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildConfig } from '../../src/config/config.js';
import { readConfigFile } from '../../src/config/file.js';
import { silentLogger } from '../../src/log.js';
import { instancePaths, type InstancePaths } from '../../src/node/instance.js';
import { migrateInstanceStore } from '../../src/node/store-migration.js';
import { openRhizomeStore } from '../../src/store/rhizome/open.js';
import type { RhizomeStore } from '../../src/store/rhizome/types.js';
import { cliInstances, cliOk, parseIdentityLines, runCli } from '../helpers/cli.js';
import { createTestDatabase, openTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { cliInTerminal } from '../helpers/terminal.js';
import { all, readAll, writePayload, makeBundle } from '../store/rhizome-helpers.js';

const instances = cliInstances();
const databases: TestDatabase[] = [];
const extraDirs: string[] = [];
after(async () => {
  await instances.cleanUp();
  for (const dir of extraDirs) rmSync(dir, { recursive: true, force: true });
  for (const db of databases) await db.drop();
});

const BLOB = 4096;
/** Payloads of every kind: empty, a database row, a file (beyond max_blob_size), one shared by two bundles. */
const SHARED = randomBytes(700);
const PAYLOADS = [Buffer.alloc(0), randomBytes(100), randomBytes(300 * 1024), SHARED, SHARED, randomBytes(BLOB + 1), randomBytes(10)];

/** Every file under `dir` with its SHA-256: what "never modified" is checked against. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else out.set(path, `${st.mtimeMs}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

/** The instance's store, read-only, and what closes it. */
async function openStore(paths: InstancePaths): Promise<[RhizomeStore, () => Promise<void>]> {
  const config = buildConfig(readConfigFile(paths.configFile));
  const common = { dir: paths.storeDir, databaseSize: undefined, minFreeSpace: 0n, maxBlobSize: BLOB, readOnly: true };
  if (config.rhizome.store.backend !== 'postgres') {
    const store = await openRhizomeStore(common);
    return [store, () => store.close()];
  }
  const database = await openTestDatabase(config.rhizome.store.url!);
  const store = await openRhizomeStore({ ...common, backend: 'postgres', database, log: silentLogger() });
  return [store, async () => (await store.close(), await database.close())];
}

/** Every bundle of a store as `bid:version` → manifest and payload bytes. */
async function contents(paths: InstancePaths): Promise<Map<string, { manifest: Buffer; payload: Buffer }>> {
  const [store, close] = await openStore(paths);
  try {
    const out = new Map<string, { manifest: Buffer; payload: Buffer }>();
    for (const b of await all(store.list({}, { order: 'asc' }))) {
      const stream = b.filehash === undefined ? undefined : await store.readPayload(b.filehash);
      out.set(`${b.bid.toString('hex')}:${b.version}`, { manifest: b.manifest, payload: stream ? await readAll(stream) : Buffer.alloc(0) });
    }
    return out;
  } finally {
    await close();
  }
}

const identities = async (paths: InstancePaths): Promise<string[][]> =>
  parseIdentityLines(await cliOk(paths.root, ['keyring', 'list', '--pin', 'migrate-pin'])).sort((a, b) => a[0]!.localeCompare(b[0]!));
const tokenIds = async (paths: InstancePaths): Promise<string[]> =>
  (JSON.parse(await cliOk(paths.root, ['web', 'list-tokens', '--json'])) as Array<{ id: string }>).map((t) => t.id).sort();

describe('tendril store migrate', { timeout: 300_000 }, () => {
  let source: InstancePaths;
  let db: TestDatabase;
  let expected: Map<string, { manifest: Buffer; payload: Buffer }>;
  let before_: Map<string, string>;
  let ids: string[][];
  let tokens: string[];

  before(async () => {
    source = instances.make({ 'rhizome.max_blob_size': String(BLOB) });
    await cliOk(source.root, ['keyring', 'add', '--name', 'open']);
    await cliOk(source.root, ['keyring', 'add', '--name', 'locked', '--pin', 'migrate-pin']);
    await cliOk(source.root, ['web', 'generate-token', '--name', 'one']);
    await cliOk(source.root, ['web', 'generate-token', '--name', 'two', '--read-only']);
    const store = await openRhizomeStore({ dir: source.storeDir, databaseSize: undefined, minFreeSpace: 0n, maxBlobSize: BLOB });
    const replaced = randomBytes(32);
    for (const [i, payload] of PAYLOADS.entries()) {
      const bundle = makeBundle({ payload, name: `b${i}`, ...(i === 1 ? { bid: replaced, version: 1n } : {}) });
      await store.commit(bundle, await writePayload(store, payload));
    }
    // A replaced version leaves the old one behind: only the new one is the store's.
    await store.commit(makeBundle({ bid: replaced, version: 2n, payload: PAYLOADS[6]! }), await writePayload(store, PAYLOADS[6]!));
    await store.close();
    expected = await contents(source);
    ids = await identities(source);
    tokens = await tokenIds(source);
    db = await createTestDatabase();
    databases.push(db);
    before_ = snapshot(source.root);
  });

  it('goes on where an interrupted run stopped, then copies everything into PostgreSQL', async () => {
    assert.equal(expected.size, PAYLOADS.length);
    assert.equal(ids.length, 2);
    assert.equal(tokens.length, 2);
    // Cut short after three bundles (as a Ctrl-C or a lost connection would).
    const config = buildConfig(readConfigFile(source.configFile));
    const cut = new Error('interrupted');
    await assert.rejects(
      migrateInstanceStore({
        paths: source,
        config,
        to: db.url,
        log: silentLogger(),
        progress: { start: () => undefined, update: (n) => { if (n === 3) throw cut; }, stop: () => undefined },
      }),
      (err) => err === cut,
    );
    const out = await cliOk(source.root, ['store', 'migrate', '--to', db.url]);
    assert.match(out, new RegExp(`migrated ${PAYLOADS.length} bundles to .*: ${PAYLOADS.length - 3} copied \\(.* MB\\), 3 already there, every one verified; 2 keyring slots, 2 API tokens`));
    assert.match(out, /tendril config set rhizome\.store\.backend postgres/);
    assert.deepEqual(snapshot(source.root), before_, 'the source instance is unchanged');

    // A node on the database serves the same bundles, identities and tokens.
    const there = instances.make({ 'rhizome.store.backend': 'postgres', 'rhizome.store.url': db.url, 'rhizome.max_blob_size': String(BLOB) });
    assert.deepEqual(await contents(there), expected);
    assert.deepEqual(await identities(there), ids);
    assert.deepEqual(await tokenIds(there), tokens);

    // Run again: nothing to copy, everything verified again.
    const again = await cliOk(source.root, ['store', 'migrate', '--to', db.url]);
    assert.match(again, new RegExp(`0 copied \\(0\\.0 MB\\), ${PAYLOADS.length} already there`));
  });

  it('copies the PostgreSQL store back into SQLite, leaving the database as it was', async () => {
    const there = instances.make({ 'rhizome.store.backend': 'postgres', 'rhizome.store.url': db.url, 'rhizome.max_blob_size': String(BLOB) });
    const dump = async (): Promise<string> => {
      const d = await openTestDatabase(db.url);
      try {
        const rows = await d.sql`SELECT
          (SELECT md5(string_agg(id::text || encode(manifest, 'hex'), ',' ORDER BY id)) FROM rhizome_manifests) AS m,
          (SELECT count(*)::text FROM rhizome_chunks) AS c,
          (SELECT md5(string_agg(encode(sealed, 'hex'), ',' ORDER BY id)) FROM keyring_slots) AS k,
          (SELECT count(*)::text FROM api_tokens) AS t`;
        return JSON.stringify(rows[0]);
      } finally {
        await d.close();
      }
    };
    const was = await dump();
    const back = instancePaths(`${there.root}-back`);
    extraDirs.push(back.root);
    const out = await cliOk(there.root, ['store', 'migrate', '--to', `sqlite:${back.root}`]);
    assert.match(out, new RegExp(`migrated ${PAYLOADS.length} bundles to sqlite:.*: ${PAYLOADS.length} copied`));
    assert.equal(await dump(), was, 'the source database is unchanged');
    await cliOk(back.root, ['config', 'set', 'rhizome.max_blob_size', String(BLOB)]);
    assert.deepEqual(await contents(back), expected);
    assert.deepEqual(await identities(back), ids);
    assert.deepEqual(await tokenIds(back), tokens);

    // An identity removed and a token revoked since: copied again, they do not come back.
    const open = ids.find((row) => row[3] === 'open')![0]!;
    await cliOk(there.root, ['keyring', 'remove', open]);
    await cliOk(there.root, ['web', 'revoke-token', tokens[0]!]);
    const again = await cliOk(there.root, ['store', 'migrate', '--to', `sqlite:${back.root}`]);
    assert.match(again, new RegExp(`0 copied \\(0\\.0 MB\\), ${PAYLOADS.length} already there, every one verified; 1 keyring slots, 1 API tokens`));
    assert.deepEqual(await identities(back), ids.filter((row) => row[0] !== open));
    assert.deepEqual(await tokenIds(back), tokens.slice(1));
  });

  it('refuses a target that is the source, and a target holding other keys', async () => {
    const self = await runCli(source.root, ['store', 'migrate', '--to', 'sqlite']);
    assert.notEqual(self.code, 0);
    assert.match(self.stderr, /already this instance/);
    const other = instances.make();
    await cliOk(other.root, ['keyring', 'add']);
    const clash = await runCli(source.root, ['store', 'migrate', '--to', `sqlite:${other.root}`]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /another keyring/);
    assert.deepEqual(snapshot(source.root), before_);
  });

  it('shows a progress bar on a terminal', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const run = cliInTerminal(source.root, ['store', 'migrate', '--to', target.url]);
    try {
      assert.equal(await run.exited, 0, run.output());
      assert.match(run.output(), /migrating \[.*\] \d+% \d+\/7 bundles/);
      assert.match(run.output(), /migrated 7 bundles/);
    } finally {
      await run.stop();
    }
  });
});
