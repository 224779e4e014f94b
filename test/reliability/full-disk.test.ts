/**
 * A full disk, seen from clients: a node runs as its own process with its whole instance directory
 * (config, keyring, tokens.json, pid and state files, its log, the Rhizome store) on a small tmpfs
 * beside a filler file. Clients insert until the disk is full; then, with the disk topped up to
 * the last byte before each request, every kind of write is tried once; then the filler is deleted
 * and the same node, never restarted, must store again.
 *
 *   - a refused insert, import or append is the documented outcome of a full store: 202, bundle
 *     status 7 "No room in store for bundle", payload status 6 (spec §3.8.3; store-outcomes.ts
 *     maps ENOSPC there), whether the disk fills at the end of the upload or while it streams;
 *   - a MeshMS send, a keyring add and a token either succeed or get their catalogue error; reads
 *     keep working, and the node neither exits nor hangs (its log is on the full disk too);
 *   - every bundle that got a 201 is listed, its .rhm byte-identical to what the client was told,
 *     its raw.bin hashing to its filehash; every message, identity and token that got a 201 is
 *     there after a restart; PRAGMA integrity_check is ok; no temporary file is left behind and
 *     payloads/ holds exactly the files the database names, before and after the restart.
 *
 * Mounting needs root (or CAP_SYS_ADMIN); elsewhere the test is skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatConfigText } from '../../src/config/file.js';
import { bundleKeyPairFromSecret, signManifest } from '../../src/crypto/bundle-keys.js';
import { Manifest, serializeManifestText } from '../../src/formats/manifest.js';
import { encodeMultipart, type PartSpec } from '../../src/http/multipart.js';
import { instancePaths, type InstancePaths } from '../../src/node/instance.js';
import { spawnNode, type ChildNode as SpawnedNode } from '../helpers/child-node.js';
import { auditStoreFiles } from '../helpers/store-audit.js';
import { cliEnv, REPO_ROOT } from '../helpers/cli.js';
import { request, TEST_USERS, type Reply, type RequestOptions } from '../helpers/node.js';
import { addParts, manifestFields, manifestText, MANIFEST_TYPE } from '../helpers/rhizome.js';

const MIB = 1024 * 1024;
/** The tmpfs, and the part of it a filler file holds until space "returns". */
const DISK = '40m';
const FILLER_BYTES = 20 * MIB;
/**
 * Payload sizes inserted in turn: kept in the database (under rhizome.max_blob_size, 128K), files
 * written in one block at the end of the upload, and files over the payload writer's 1 MiB block,
 * which meet the full disk while the upload still streams.
 */
const SIZES = [30_000, 30_000, 300_000, 30_000, 300_000, 1_300_000];
/**
 * The journal's first payload: an append copies the whole journal before adding to it (spec
 * §3.9), and one this big (over the writer's four blocks in flight) meets the full disk while
 * being copied.
 */
const JOURNAL_BYTES = 6_000_000;
/**
 * Not a timing assertion: a node that hangs (as one did, when its log hit ENOSPC) fails the test
 * with this message instead of holding it until the runner's timeout, which skips the clean-up.
 */
const ANSWER_MS = 30_000;
const BOUNDARY = 'FuLlDiSkBoUnDaRy';
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex').toUpperCase();

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir]);
  } catch {
    execFileSync('umount', ['-l', dir]); // still busy: detach it now, it goes when released
  }
}

interface ChildNode {
  readonly port: number;
  alive(): boolean;
  stderr(): string;
  /** SIGTERM (SIGKILL after 10 s); resolves with the exit code or signal. */
  stop(): Promise<NodeJS.Signals | number | null>;
}

/**
 * Starts the node as `start --detach` runs it, with its log (stdout) appended to the instance's
 * logs/tendril.log, so the log shares the full disk. Unlike --detach, stderr comes here: a crash's
 * stack trace reaches the test even when the log's disk cannot take it.
 */
async function startNode(paths: InstancePaths): Promise<ChildNode> {
  mkdirSync(paths.logDir, { recursive: true });
  const log = openSync(paths.logFile, 'a', 0o600);
  let node: SpawnedNode;
  try {
    node = await spawnNode(paths, { stdout: log });
  } finally {
    closeSync(log);
  }
  let gone = false;
  void node.exited.then(() => (gone = true));
  return {
    port: node.port,
    alive: () => !gone,
    stderr: () => node.stderr(),
    async stop() {
      await node.stop();
      return node.exited;
    },
  };
}

function answered(reply: Promise<Reply>, what: string): Promise<Reply> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${what} in ${ANSWER_MS / 1000} s: the node hangs`)), ANSWER_MS);
  });
  return Promise.race([reply, hung]).finally(() => clearTimeout(timer));
}

function ask(port: number, method: string, path: string, options?: RequestOptions): Promise<Reply> {
  return answered(request(port, method, path, options), `${method} ${path}`);
}

function post(port: number, path: string, parts: readonly PartSpec[]): Promise<Reply> {
  const body = encodeMultipart(parts, BOUNDARY);
  return ask(port, 'POST', path, { headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': body.length }, body });
}

/** A request on the owner-only control socket, where tokens are made (`tendril web generate-token`). */
function control(socketPath: string, method: string, path: string): Promise<Reply> {
  const reply = new Promise<Reply>((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, body, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('error', reject);
    req.end();
  });
  return answered(reply, `${method} ${path} on the control socket`);
}

/** A bundle signed elsewhere, for import (spec §3.10). */
function signedBundle(size: number): { manifest: Buffer; payload: Buffer; bid: string } {
  const keys = bundleKeyPairFromSecret(randomBytes(32));
  const payload = randomBytes(size);
  const m = new Manifest();
  m.id = keys.bid;
  m.version = 1n;
  m.filesize = BigInt(size);
  m.filehash = createHash('sha512').update(payload).digest();
  m.service = 'file';
  m.name = `imported${size}`;
  m.date = BigInt(Date.now());
  return { manifest: signManifest(serializeManifestText(m), keys.secretKey), payload, bid: keys.bid.toString('hex').toUpperCase() };
}

/** An answer in one line, for the diagnostics: status, reason, Rhizome and MeshMS statuses, error code. */
function outcome(r: Reply): string {
  const header = (name: string): string | undefined => {
    const value = r.headers[name];
    return value === undefined ? undefined : String(value);
  };
  const bundle = header('serval-rhizome-result-bundle-status-code');
  const payload = header('serval-rhizome-result-payload-status-code');
  const rhizome = bundle === undefined && payload === undefined ? '' : ` bundle=${bundle ?? '-'} payload=${payload ?? '-'}`;
  const json = r.status >= 300 && header('content-type')?.startsWith('application/json') === true;
  const meshms = json ? (r.json().meshms_status_code as number | undefined) : undefined;
  const error = header('tendril-error');
  return `${r.status} ${r.reason}${rhizome}${meshms === undefined ? '' : ` meshms=${meshms}`}${error === undefined ? '' : ` [${error}]`}`;
}

/** The answer to a write the full disk refused (spec §3.8.3 TOO_BIG, store-outcomes.ts storeFailure). */
function assertNoRoom(r: Reply, what: string): void {
  assert.equal(r.status, 202, `${what}: ${outcome(r)} ${r.text}`);
  assert.equal(r.reason, 'No room in store for bundle');
  assert.equal(r.headers['serval-rhizome-result-bundle-status-code'], '7');
  assert.equal(r.headers['serval-rhizome-result-payload-status-code'], '6');
  const body = r.json();
  assert.equal(body.http_status_code, 202);
  assert.equal(body.rhizome_bundle_status_code, 7);
  assert.equal(body.rhizome_bundle_status_message, 'No room in store for bundle');
  assert.equal(body.rhizome_payload_status_code, 6);
  assert.equal(body.rhizome_payload_status_message, 'Payload size exceeds store');
}

/**
 * Appends to `path` until the filesystem takes no more, down to single bytes; returns how many
 * bytes it took. Called before each request of the full phase, in case a refused write gave back
 * what its temporary file had taken.
 */
function topUp(path: string): number {
  const fd = openSync(path, 'a');
  let written = 0;
  try {
    for (const size of [MIB, 64 * 1024, 4096, 512, 1]) {
      const block = Buffer.alloc(size, 0xa5);
      for (;;) {
        try {
          written += writeSync(fd, block);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

interface Listed {
  header: string[];
  rows: unknown[][];
}

function column(list: Listed, name: string): unknown[] {
  const i = list.header.indexOf(name);
  return list.rows.map((row) => row[i]);
}

/** What clients were told is stored. */
interface Ledger {
  /** Bundle id → the manifest of its latest 201 (an insert's or append's body, an imported manifest). */
  readonly bundles: Map<string, Buffer>;
  readonly messages: string[];
  readonly identities: string[];
  readonly tokens: string[];
}

/** Every acknowledged bundle listed, its manifest the acknowledged one, every payload whole. */
async function checkBundles(port: number, ledger: Ledger): Promise<void> {
  const list = (await ask(port, 'GET', '/restful/rhizome/bundlelist.json')).json<Listed>();
  const rows = new Map(list.rows.map((row) => [row[list.header.indexOf('id')] as string, row]));
  for (const [bid, signed] of ledger.bundles) {
    assert.ok(rows.has(bid), `bundle ${bid} got a 201 and is listed`);
    assert.deepEqual((await ask(port, 'GET', `/restful/rhizome/${bid}.rhm`)).body, signed, `bundle ${bid}: the manifest of its 201`);
  }
  for (const [bid, row] of rows) {
    const raw = await ask(port, 'GET', `/restful/rhizome/${bid}/raw.bin`);
    assert.equal(raw.status, 200, `bundle ${bid}: payload present`);
    assert.equal(raw.body.length, row[list.header.indexOf('filesize')], `bundle ${bid}: whole payload`);
    if (raw.body.length > 0) assert.equal(sha512(raw.body), row[list.header.indexOf('filehash')], `bundle ${bid}: payload intact`);
  }
}

/** The stopped node's files: a sound database, nothing temporary, no payload file nobody names. */
function checkFiles(paths: InstancePaths): void {
  assert.deepEqual(readdirSync(paths.root).filter((f) => f.includes('.tmp-')), [], 'no temporary keyring or token file');
  auditStoreFiles(paths.storeDir);
}

describe('a node whose disk fills up', () => {
  it('answers No room, damages nothing and stores again once space returns', { timeout: 300_000 }, async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'tendril-full-disk-'));
    const mount = join(base, 'disk');
    mkdirSync(mount);
    if (!mountTmpfs(mount, DISK)) {
      rmSync(base, { recursive: true, force: true });
      t.skip('cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)');
      return;
    }
    const paths = instancePaths(join(mount, 'instance'));
    mkdirSync(paths.root, { mode: 0o700 });
    // min_free_space 0: the store's own limit (100M kept free by default, spec §7.10) would answer
    // 202 long before the disk is full, evicting older payloads; ENOSPC itself is under test here.
    writeFileSync(paths.configFile, formatConfigText(new Map(Object.entries({ ...TEST_USERS, 'rhizome.min_free_space': '0' }))));
    const filler = join(mount, 'filler');
    writeFileSync(filler, Buffer.alloc(FILLER_BYTES, 0x5a));
    const brim = join(mount, 'brim');
    const ledger: Ledger = { bundles: new Map(), messages: [], identities: [], tokens: [] };
    const outcomes = new Map<string, number>();
    const seen = (what: string, r: Reply): Reply => {
      const key = `${what}: ${outcome(r)}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      return r;
    };
    let node: ChildNode | undefined;
    try {
      node = await startNode(paths);
      const port = node.port;
      const ack = (r: Reply): void => {
        assert.equal(r.status, 201, `${outcome(r)} ${r.text}`);
        ledger.bundles.set(manifestFields(r.body).get('id')!, r.body);
      };
      const insert = (size: number): Promise<Reply> => post(port, '/restful/rhizome/insert', addParts({ manifest: `name=payload${size}\n`, payload: randomBytes(size) }));
      const importBundle = (b: ReturnType<typeof signedBundle>): Promise<Reply> =>
        post(port, '/restful/rhizome/import', [
          { name: 'manifest', contentType: MANIFEST_TYPE, body: b.manifest },
          { name: 'payload', body: b.payload },
        ]);
      const addIdentity = (): Promise<Reply> => ask(port, 'POST', '/restful/keyring/add');
      const makeToken = (): Promise<Reply> => control(paths.controlSocket, 'POST', '/control/tokens?name=full-disk');

      // Written before the disk fills: an identity, a conversation, a big journal, a token.
      const added = await addIdentity();
      assert.equal(added.status, 201, added.text);
      const alice = added.json<{ identity: { sid: string } }>().identity.sid;
      ledger.identities.push(alice);
      const bob = randomBytes(32).toString('hex').toUpperCase();
      const send = (text: string): Promise<Reply> =>
        post(port, `/restful/meshms/${alice}/${bob}/sendmessage`, [{ name: 'message', contentType: 'text/plain; charset=utf-8', body: text }]);
      assert.equal((await send('before the disk filled')).status, 201);
      ledger.messages.push('before the disk filled');
      const journal = await post(port, '/restful/rhizome/append', addParts({ manifest: 'name=journal\n', payload: randomBytes(JOURNAL_BYTES) }));
      ack(journal);
      const journalId = manifestFields(journal.body).get('id')!;
      const journalSecret = journal.headers['serval-rhizome-bundle-secret'] as string;
      const append = (): Promise<Reply> =>
        post(port, '/restful/rhizome/append', addParts({ bundleId: journalId, secret: journalSecret, manifest: '', payload: randomBytes(3000) }));
      const token = await makeToken();
      assert.equal(token.status, 201, token.text);
      ledger.tokens.push(token.json<{ token: string }>().token);
      // A bundle of Alice's stored without its author (a later version, imported): the first read
      // proves and records the author (spec §7.7), a write, which here meets the full disk.
      const authoredPayload = randomBytes(1000);
      const authored = await post(port, '/restful/rhizome/insert', addParts({ author: alice, manifest: 'name=authored\n', payload: authoredPayload }));
      assert.equal(authored.status, 201, authored.text);
      const secret = Buffer.from(authored.headers['serval-rhizome-bundle-secret'] as string, 'hex');
      const v1 = manifestFields(authored.body).get('version')!;
      const v2Text = manifestText(authored.body).replace(`\nversion=${v1}\n`, `\nversion=${BigInt(v1) + 1n}\n`);
      const v2 = signManifest(Buffer.from(v2Text, 'latin1'), bundleKeyPairFromSecret(secret).secretKey);
      const reimported = await post(port, '/restful/rhizome/import', [
        { name: 'manifest', contentType: MANIFEST_TYPE, body: v2 },
        { name: 'payload', body: authoredPayload },
      ]);
      assert.equal(reimported.status, 201, reimported.text);
      ledger.bundles.set(manifestFields(v2).get('id')!, v2);

      // Insert until a whole round of sizes has been refused in a row.
      let attempts = 0;
      let refused = 0;
      let stored = 0;
      for (let inARow = 0; inARow < SIZES.length; ) {
        assert.ok(attempts < 500, 'the disk fills up');
        const size = SIZES[attempts++ % SIZES.length]!;
        const r = seen(`insert ${size} B while filling`, await insert(size));
        if (r.status === 201) {
          ack(r);
          stored++;
          inARow = 0;
        } else {
          assertNoRoom(r, `insert of ${size} B`);
          refused++;
          inARow++;
        }
      }
      t.diagnostic(`disk full: ${stored} bundles inserted while filling (${ledger.bundles.size} in all); ${refused} of ${attempts} inserts refused`);

      // Full to the last byte before each request: every kind of write once more.
      let toppedUp = 0;
      const whenFull = async (what: string, write: () => Promise<Reply>): Promise<Reply> => {
        toppedUp += topUp(brim);
        return seen(`${what} when full`, await write());
      };
      for (const size of new Set(SIZES)) {
        const r = await whenFull(`insert ${size} B`, () => insert(size));
        if (r.status === 201) ack(r);
        else assertNoRoom(r, `insert of ${size} B on a full disk`);
      }
      const imports = [...new Set(SIZES)].map(signedBundle);
      const refusedImports: typeof imports = [];
      for (const b of imports) {
        const r = await whenFull(`import ${b.payload.length} B`, () => importBundle(b));
        if (r.status === 201) ledger.bundles.set(b.bid, b.manifest);
        else {
          assertNoRoom(r, `import of ${b.payload.length} B on a full disk`);
          refusedImports.push(b);
        }
      }
      const appended = await whenFull(`append to the ${JOURNAL_BYTES} B journal`, append);
      if (appended.status === 201) ack(appended);
      else assertNoRoom(appended, 'journal append on a full disk');
      const message = await whenFull('MeshMS send', () => send('while the disk was full'));
      if (message.status === 201) ledger.messages.push('while the disk was full');
      else {
        // spec §4.7: a send that fails is 500, MeshMS status -1 (ERROR).
        assert.equal(message.status, 500, message.text);
        assert.equal(message.json().meshms_status_code, -1);
      }
      const identity = await whenFull('keyring add', addIdentity);
      if (identity.status === 201) ledger.identities.push(identity.json<{ identity: { sid: string } }>().identity.sid);
      else {
        assert.equal(identity.status, 500, identity.text);
        assert.equal(identity.reason, 'Could not store new identity');
        assert.equal(identity.headers['tendril-error'], 'KEYRING_STORE_FAILED');
      }
      const fullToken = await whenFull('token generation', makeToken);
      if (fullToken.status === 201) ledger.tokens.push(fullToken.json<{ token: string }>().token);
      else assert.equal(fullToken.status, 500, fullToken.text); // no catalogue entry: the opaque 500

      // Reads work on the full disk, and the node is still there.
      topUp(brim);
      await checkBundles(port, ledger);
      const identities = await ask(port, 'GET', '/restful/keyring/identities.json');
      assert.equal(identities.status, 200);
      assert.deepEqual(new Set(column(identities.json<Listed>(), 'sid')), new Set(ledger.identities));
      assert.ok(node.alive(), `the node is still running: ${node.stderr()}`);
      t.diagnostic(`full phase: ${toppedUp} B more taken by the top-ups, ${statfsSync(mount).bavail} blocks free at its end`);

      // Space returns: the same node stores again, retried imports included.
      unlinkSync(brim);
      unlinkSync(filler);
      for (const size of new Set(SIZES)) ack(seen(`insert ${size} B after space returned`, await insert(size)));
      for (const b of refusedImports) {
        const r = seen(`import ${b.payload.length} B after space returned`, await importBundle(b));
        assert.equal(r.status, 201, r.text);
        ledger.bundles.set(b.bid, b.manifest);
      }
      ack(seen('journal append after space returned', await append()));
      assert.equal(seen('MeshMS send after space returned', await send('after space returned')).status, 201);
      ledger.messages.push('after space returned');
      const later = seen('keyring add after space returned', await addIdentity());
      assert.equal(later.status, 201, later.text);
      ledger.identities.push(later.json<{ identity: { sid: string } }>().identity.sid);
      const laterToken = seen('token generation after space returned', await makeToken());
      assert.equal(laterToken.status, 201, laterToken.text);
      ledger.tokens.push(laterToken.json<{ token: string }>().token);
      for (const [what, n] of outcomes) t.diagnostic(`${n} × ${what}`);
      assert.deepEqual(readdirSync(join(paths.storeDir, 'tmp')), [], 'no temporary payload outlives its request');

      // Stopped cleanly and checked cold, then restarted and checked through the API.
      assert.equal(await node.stop(), 0, `the node exits cleanly: ${node.stderr()}`);
      const lastLine = JSON.parse(readFileSync(paths.logFile, 'utf8').trimEnd().split('\n').at(-1)!) as { msg: string };
      assert.equal(lastLine.msg, 'stopped', 'the log is written again once space returns, to its last line');
      checkFiles(paths);
      node = await startNode(paths);
      await checkBundles(node.port, ledger);
      const conversation = await ask(node.port, 'GET', `/restful/meshms/${alice}/${bob}/messagelist.json`);
      assert.equal(conversation.status, 200, conversation.text);
      const texts = column(conversation.json<Listed>(), 'text');
      for (const text of ledger.messages) assert.ok(texts.includes(text), `message "${text}" kept`);
      const restarted = await ask(node.port, 'GET', '/restful/keyring/identities.json');
      assert.deepEqual(new Set(column(restarted.json<Listed>(), 'sid')), new Set(ledger.identities), 'the identities that got a 201, and only they');
      for (const tk of ledger.tokens) {
        assert.equal((await ask(node.port, 'GET', '/restful/keyring/identities.json', { auth: `Bearer ${tk}` })).status, 200, 'token kept');
      }
      // Stopped while the disk is full, after more log lines than the log file's last page has
      // room for (a full tmpfs still takes writes into pages it has given out): it exits cleanly.
      // (Closing the store deletes its WAL, which gives the last log lines room again; a log
      // that stays full up to the exit is the next test's.)
      topUp(brim);
      for (let i = 0; i < 50; i++) assert.equal((await ask(node.port, 'GET', '/restful/keyring/identities.json')).status, 200);
      assert.equal(await node.stop(), 0, `the node exits cleanly on a full disk: ${node.stderr()}`);
      unlinkSync(brim);
      checkFiles(paths);
      t.diagnostic(
        `after the restart: ${ledger.bundles.size} bundles, ${ledger.messages.length} messages, ${ledger.identities.length} identities, ${ledger.tokens.length} tokens, all intact`,
      );
    } finally {
      // What the node wrote to stderr: a crash's trace, when the log's disk refused it.
      if (node?.stderr()) t.diagnostic(`node stderr: ${node.stderr()}`);
      await node?.stop();
      unmount(mount);
      rmSync(base, { recursive: true, force: true });
    }
  });

  // The node test above cannot hold the disk full through a stop (closing the store deletes its
  // WAL, which gives space back), so the logger's exit path is checked here, in a process of its
  // own: the node's logger (src/log.ts) writing to a file on a disk that is full from the start.
  it('a log the disk has no room for neither stops nor hangs the process, up to its exit', { timeout: 120_000 }, async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'tendril-full-log-'));
    const mount = join(base, 'disk');
    mkdirSync(mount);
    if (!mountTmpfs(mount, '1m')) {
      rmSync(base, { recursive: true, force: true });
      t.skip('cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)');
      return;
    }
    try {
      const logFile = join(mount, 'tendril.log');
      writeFileSync(logFile, '');
      topUp(join(mount, 'filler'));
      // As runForeground does: log away, then a last line, flush, and leave by the end of the loop.
      const script = [
        "import { createLogger } from './src/log.ts';",
        "const log = createLogger({ level: 'info' });",
        "for (let i = 0; i < 200; i++) log.info({ i }, 'a line the disk has no room for');",
        "setTimeout(() => { log.info('stopped'); log.flush(); }, 200);",
      ].join('\n');
      const fd = openSync(logFile, 'a');
      let child: ChildProcess;
      try {
        child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, env: cliEnv(), stdio: ['ignore', fd, 'pipe'] });
      } finally {
        closeSync(fd);
      }
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => (stderr += text));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), ANSWER_MS);
      const end = await exited;
      clearTimeout(timer);
      assert.equal(end, 0, `exits by itself, not killed after ${ANSWER_MS / 1000} s (hung) nor crashed: ${stderr}`);
      assert.equal(stderr, '');
    } finally {
      unmount(mount);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
