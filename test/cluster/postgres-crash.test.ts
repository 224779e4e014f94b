/**
 * Crashes around the PostgreSQL store, with real processes:
 *
 *   - a node SIGKILLed during concurrent inserts (a second node on the same database stays up):
 *     every insert acknowledged (201) is there, intact, through the other node; once the killed
 *     node's session is gone its unfinished uploads are swept, and nothing is orphaned;
 *   - the PostgreSQL server shut down immediately (SIGQUIT, as a crash) during concurrent inserts:
 *     the node keeps running and answers 503 (or 423) JSON results meanwhile, recovers by itself
 *     once the server is back, and every acknowledged insert is there, intact;
 *   - a node that cannot reach its database at start-up exits with a message naming the host, not
 *     the password; PGPASSWORD and PGPASSFILE are how a password reaches the server.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { spawnNode } from '../helpers/child-node.js';
import { runCli } from '../helpers/cli.js';
import { makeInstance, request, startTestNode, type TestNode } from '../helpers/node.js';
import { PG_PASSWORD, createTestDatabase, privateServer, type TestDatabase } from '../helpers/postgres.js';
import type { PostgresServer } from '../helpers/postgres-server.js';
import { insert, manifestFields } from '../helpers/rhizome.js';

const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex').toUpperCase();

interface Acked {
  readonly id: string;
  readonly filehash: string | undefined;
}

/** Inserts through `port` until stopped; records what each 201 acknowledged. */
function insertLoop(port: number, acked: Acked[], failures: number[]): { stop(): Promise<void> } {
  let running = true;
  const one = async (i: number): Promise<void> => {
    const payload = randomBytes(i % 3 === 0 ? 0 : i % 3 === 1 ? 2000 : 300_000);
    const node = { port, request: (m: string, p: string, o?: object) => request(port, m, p, o) } as unknown as TestNode;
    try {
      const r = await insert(node, { manifest: `name=crash-${i}\n`, payload });
      if (r.status === 201) acked.push({ id: manifestFields(r.body).get('id')!, filehash: payload.length > 0 ? sha512(payload) : undefined });
      else failures.push(r.status);
    } catch {
      failures.push(0); // the connection went with the node
    }
  };
  const loops = Array.from({ length: 6 }, async (_, lane) => {
    for (let i = lane; running; i += 6) await one(i);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Every acknowledged bundle reads back through `node`, its payload intact. */
async function checkAcked(node: TestNode, acked: readonly Acked[]): Promise<void> {
  for (const a of acked) {
    const rhm = await node.request('GET', `/restful/rhizome/${a.id}.rhm`);
    assert.equal(rhm.status, 200, `acknowledged ${a.id} is there`);
    const raw = await node.request('GET', `/restful/rhizome/${a.id}/raw.bin`);
    assert.equal(raw.status, 200);
    if (a.filehash === undefined) assert.equal(raw.body.length, 0);
    else assert.equal(sha512(raw.body), a.filehash);
  }
}

/** Nothing half-written or unreferenced in the database (after the sweeps have run). */
async function checkNoOrphans(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await sql<Array<{ missing: string; unreferenced: string; unused: string; chunkless: string }>>`
      SELECT
        (SELECT count(*) FROM rhizome_manifests m WHERE filesize > 0 AND NOT EXISTS (SELECT 1 FROM rhizome_payloads p WHERE p.hash = m.filehash)) AS missing,
        (SELECT count(*) FROM rhizome_payloads p WHERE NOT EXISTS (SELECT 1 FROM rhizome_manifests m WHERE m.filehash = p.hash)) AS unreferenced,
        (SELECT count(*) FROM rhizome_blobs WHERE state <> 1) AS unused,
        (SELECT count(*) FROM rhizome_chunks c WHERE NOT EXISTS (SELECT 1 FROM rhizome_payloads p WHERE p.blob = c.blob)) AS chunkless`;
    assert.deepEqual(row, { missing: '0', unreferenced: '0', unused: '0', chunkless: '0' });
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe('a node SIGKILLed during concurrent inserts, another node on the same database', () => {
  let database: TestDatabase;
  let survivor: TestNode;
  before(async () => {
    database = await createTestDatabase();
    survivor = await startTestNode({ config: { 'rhizome.store.backend': 'postgres', 'rhizome.store.url': database.url } });
  });
  after(async () => {
    await survivor.destroy();
    await database.drop();
  });

  it('loses no acknowledged insert and leaves nothing half-written', { timeout: 120_000 }, async (t) => {
    const acked: Acked[] = [];
    for (let round = 0; round < 3; round++) {
      const paths = makeInstance({ 'rhizome.store.backend': 'postgres', 'rhizome.store.url': database.url });
      const victim = await spawnNode(paths);
      const failures: number[] = [];
      const before = acked.length;
      const load = insertLoop(victim.port, acked, failures);
      await new Promise((resolve) => setTimeout(resolve, 400 + round * 300));
      victim.child.kill('SIGKILL');
      await victim.exited;
      await load.stop();
      t.diagnostic(`round ${round}: ${acked.length - before} acknowledged before the kill`);
    }
    assert.ok(acked.length > 0);
    await checkAcked(survivor, acked);
    // A node that starts sweeps what dead sessions left (as the survivor's next sweep would).
    const sweeper = await startTestNode({ config: { 'rhizome.store.backend': 'postgres', 'rhizome.store.url': database.url } });
    try {
      await eventually(() => checkNoOrphans(database.url), 60_000);
    } finally {
      await sweeper.destroy();
    }
  });
});

describe('the PostgreSQL server shut down immediately during concurrent inserts', () => {
  let server: PostgresServer;
  let database: TestDatabase;
  let node: TestNode;
  before(async () => {
    server = await privateServer();
    database = await createTestDatabase(server);
    node = await startTestNode({ config: { 'rhizome.store.backend': 'postgres', 'rhizome.store.url': database.url } });
  });
  after(async () => {
    await node.destroy().catch(() => undefined);
    await server.destroy();
  });

  it('answers 503/423 meanwhile, keeps running, recovers by itself, and loses no acknowledged insert', { timeout: 120_000 }, async (t) => {
    const acked: Acked[] = [];
    const failures: number[] = [];
    const load = insertLoop(node.port, acked, failures);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await server.crash();
    const down = await node.request('GET', '/restful/rhizome/bundlelist.json');
    assert.ok([503, 423].includes(down.status), `${down.status} ${down.text}`);
    assert.match(down.headers['content-type'] ?? '', /json/);
    const get = await node.request('GET', `/restful/rhizome/${'ab'.repeat(32)}.rhm`);
    assert.equal(get.status, 503, get.text);
    assert.equal(get.json<{ http_status_code: number }>().http_status_code, 503);
    await new Promise((resolve) => setTimeout(resolve, 500)); // inserts keep failing meanwhile
    await server.restart();
    await until(async () => (await node.request('GET', '/restful/rhizome/bundlelist.json')).status === 200);
    await new Promise((resolve) => setTimeout(resolve, 500)); // and keep succeeding again
    await load.stop();
    t.diagnostic(`${acked.length} acknowledged; refused meanwhile: ${JSON.stringify(countBy(failures))}`);
    assert.ok(failures.every((s) => [0, 423, 500, 503].includes(s)), `unexpected statuses ${JSON.stringify(countBy(failures))}`);
    assert.ok(failures.some((s) => s === 503 || s === 423), 'inserts were refused while the database was down');
    await checkAcked(node, acked);
    const after = await insert(node, { manifest: 'name=after\n', payload: randomBytes(300_000) });
    assert.equal(after.status, 201, after.text);
    await eventually(() => checkNoOrphans(database.url), 60_000);
  });
});

describe('reaching the database', () => {
  let server: PostgresServer;
  let database: TestDatabase;
  before(async () => {
    server = await privateServer();
    database = await createTestDatabase(server);
  });
  after(async () => server.destroy());

  it('unreachable at start-up: the node exits, naming the host and database but not the password', async () => {
    const paths = makeInstance({ 'rhizome.store.backend': 'postgres', 'rhizome.store.url': `postgres://tendril@127.0.0.1:1/${database.name}` });
    const r = await runCli(paths.root, ['start', '--port', '0'], { env: { PGPASSWORD: 'do-not-print-me' }, timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Cannot reach the database: 127\.0\.0\.1:1\//);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('do-not-print-me'));
  });

  it('takes the password from PGPASSWORD or PGPASSFILE, never from the URL or the config', async () => {
    const url = server.tcpUrl(database.name); // TCP: the server asks for a password
    const paths = makeInstance({ 'rhizome.store.backend': 'postgres', 'rhizome.store.url': url });
    const wrong = await runCli(paths.root, ['start', '--port', '0'], { env: { PGPASSWORD: 'wrong-password' }, timeoutMs: 60_000 });
    assert.notEqual(wrong.code, 0);
    assert.ok(!`${wrong.stdout}${wrong.stderr}`.includes('wrong-password'));
    for (const env of <Array<Record<string, string>>>[
      { PGPASSWORD: PG_PASSWORD },
      { PGPASSFILE: passfile(paths.root, `127.0.0.1:${server.port}:${database.name}:tendril:${PG_PASSWORD}`) },
    ]) {
      const node = await spawnNode(paths, { env });
      try {
        const r = await request(node.port, 'GET', '/restful/system');
        assert.equal(r.status, 200, r.text);
        const store = r.json<{ node: { store: Record<string, unknown> } }>().node.store;
        assert.deepEqual({ ...store, database_bytes: typeof store.database_bytes }, {
          backend: 'postgres',
          location: `127.0.0.1:${server.port}/${database.name}`,
          connected: true,
          database_bytes: 'number',
        });
        assert.ok(!r.text.includes(PG_PASSWORD));
      } finally {
        await node.stop();
      }
    }
    const refused = await runCli(paths.root, ['config', 'set', 'rhizome.store.url', `postgres://tendril:${PG_PASSWORD}@127.0.0.1/x`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /PGPASSWORD/);
    assert.ok(!`${refused.stdout}${refused.stderr}`.includes(PG_PASSWORD));
    const listed = await runCli(paths.root, ['config', 'list']);
    assert.ok(!listed.stdout.includes(PG_PASSWORD));
  });
});

function passfile(dir: string, line: string): string {
  const file = join(dir, 'pgpass');
  writeFileSync(file, `${line}\n`, { mode: 0o600 });
  return file;
}

function countBy(values: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Waits until `check` holds, up to `ms` (the node reconnects, sweeps run: no event to wait on). */
async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('never happened');
}

/** Retries `check` until it passes (sweeps run on their own schedule), up to `ms`; then its failure. */
async function eventually(check: () => Promise<void>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
