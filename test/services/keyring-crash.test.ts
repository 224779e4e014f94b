/**
 * The keyring's crash guarantee: a node killed at any moment (SIGKILL, no chance to clean up)
 * restarts with every identity whose add it had acknowledged, each whole, and nothing half
 * written; a temporary file left by an interrupted write is ignored; and a keyring file that is
 * damaged makes the node refuse to start with a clear message instead of starting without it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { silentLogger } from '../../src/log.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { openKeyring } from '../../src/services/keyring/keyring.js';
import { decodeKeyringFile, newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { cliArgs, cliEnv, REPO_ROOT, runCli } from '../helpers/cli.js';
import { makeInstance, request } from '../helpers/node.js';

const LIST = '/restful/keyring/identities.json';
const PINS = ['alpha', 'be ta'] as const;

const instances: InstancePaths[] = [];
/** An instance whose keyring file uses the cheapest PIN derivation (the file carries its own cost). */
function instance(): InstancePaths {
  const paths = makeInstance({ 'log.level': 'warn' });
  instances.push(paths);
  writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
  return paths;
}
const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const paths of instances) rmSync(paths.root, { recursive: true, force: true });
});

interface NodeProcess {
  readonly pid: number;
  readonly port: number;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `tendril start --port 0` in the foreground, as its own process; resolves once it serves. */
function startNodeProcess(paths: InstancePaths): Promise<NodeProcess> {
  const child = spawn(process.execPath, cliArgs(paths.root, ['start', '--port', '0']), {
    cwd: REPO_ROOT,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${stderr}`)), 15_000);
    const onData = (): void => {
      const m = /REST API: {2}http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ pid: child.pid!, port: Number(m[1]), kill: (s) => child.kill(s), exited });
    };
    child.stdout.on('data', onData);
    void exited.then((r) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${r.code ?? r.signal}) before serving: ${r.stderr}`));
    });
  });
}

interface Sent {
  readonly name: string;
  readonly did: string | undefined;
  readonly pin: string | undefined;
}
interface Confirmed extends Sent {
  readonly sid: string;
  readonly identity: string;
}

/** The next add request: every third has a PIN, every other has a DID. */
function nextAdd(tag: string, n: number): Sent {
  return {
    name: `${tag}-${n}`,
    did: n % 2 === 0 ? `555${String(n).padStart(4, '0')}` : undefined,
    pin: n % 3 === 0 ? PINS[n % 2] : undefined,
  };
}

function addPath(s: Sent): string {
  const q = new URLSearchParams({ name: s.name });
  if (s.did !== undefined) q.set('did', s.did);
  if (s.pin !== undefined) q.set('pin', s.pin);
  return `/restful/keyring/add?${q.toString()}`;
}

/**
 * Runs `workers` loops of concurrent adds against the node until it dies; kills it with SIGKILL
 * at a random moment after the first few adds were acknowledged. Records every add sent in
 * `sentByName`; returns the acknowledged ones.
 */
async function addUntilKilled(node: NodeProcess, tag: string, workers: number, sentByName: Map<string, Sent>): Promise<Confirmed[]> {
  const confirmed: Confirmed[] = [];
  let n = 0;
  let dead = false;
  const worker = async (): Promise<void> => {
    while (!dead) {
      const sent = nextAdd(tag, n++);
      sentByName.set(sent.name, sent);
      let r;
      try {
        r = await request(node.port, 'POST', addPath(sent));
      } catch {
        return; // the node died under this request: its outcome is unknown
      }
      assert.equal(r.status, 201, r.text);
      const id = r.json<{ identity: { sid: string; identity: string } }>().identity;
      confirmed.push({ ...sent, sid: id.sid, identity: id.identity });
    }
  };
  const killer = async (): Promise<void> => {
    while (confirmed.length < 3) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 80)));
    node.kill('SIGKILL');
    dead = true;
  };
  const running = Array.from({ length: workers }, worker);
  await killer();
  await Promise.all(running);
  const exit = await node.exited;
  assert.equal(exit.signal, 'SIGKILL', 'the node was killed, not stopped');
  return confirmed;
}

/** sid → [identity, did, name] of what a freshly started node lists. */
type Listing = Map<string, unknown[]>;

/**
 * What the node lists as PINs are entered one by one: `steps[0]` with no PIN, `steps[i]` after
 * PINS[0..i-1]. The last step is every identity it has.
 */
async function listByPin(port: number): Promise<Listing[]> {
  const steps: Listing[] = [];
  for (const query of ['', ...PINS.map((pin) => `?pin=${encodeURIComponent(pin)}`)]) {
    const r = await request(port, 'GET', LIST + query);
    assert.equal(r.status, 200);
    const rows = r.json<{ rows: unknown[][] }>().rows;
    const listing: Listing = new Map(rows.map((row) => [row[0] as string, row.slice(1)]));
    assert.equal(listing.size, rows.length, 'no SID twice');
    steps.push(listing);
  }
  return steps;
}

/** The listing step at which an identity added with `pin` first appears. */
const stepOf = (pin: string | undefined): number => (pin === undefined ? 0 : PINS.indexOf(pin as (typeof PINS)[number]) + 1);

void describe('keyring crash safety', () => {
  void it('SIGKILL during concurrent adds loses no acknowledged identity and leaves nothing half-written', async () => {
    const paths = instance();
    const confirmed: Confirmed[] = [];
    const sent = new Map<string, Sent>();
    const ROUNDS = 4;
    for (let round = 0; round < ROUNDS; round++) {
      const node = await startNodeProcess(paths);
      const acked = await addUntilKilled(node, `r${round}`, 6, sent);
      assert.ok(acked.length >= 3, `round ${round}: adds were acknowledged before the kill`);
      confirmed.push(...acked);
    }

    // The file as the killed node left it parses, and nothing but it and leftovers of interrupted
    // writes is there.
    const file = decodeKeyringFile(readFileSync(paths.keyringFile));
    assert.ok(file.slots.length >= confirmed.length);
    const strays = readdirSync(paths.root).filter((f) => f.startsWith('keyring.tdk') && f !== 'keyring.tdk');
    for (const f of strays) assert.match(f, /^keyring\.tdk\.tmp-\d+-[0-9a-f]{12}$/);

    const node = await startNodeProcess(paths);
    try {
      const steps = await listByPin(node.port);
      const all = steps.at(-1)!;
      // Each identity appears exactly when its own PIN (or none) has been entered.
      const appearsAt = (sid: string): number => steps.findIndex((listing) => listing.has(sid));
      for (const c of confirmed) {
        // A name without a DID makes a DID/Name record with an empty DID (spec §2.4).
        assert.deepEqual(all.get(c.sid), [c.identity, c.did ?? '', c.name], `${c.name} is back whole`);
        assert.equal(appearsAt(c.sid), stepOf(c.pin), `${c.name} is sealed under ${c.pin === undefined ? 'no PIN' : `PIN "${c.pin}"`}`);
      }
      // Every slot opened under a known PIN and decoded: no slot is damaged or foreign. Identities
      // whose add was cut off by the kill may be there, but only whole and only as sent.
      assert.equal(all.size, file.slots.length);
      for (const [sid, [, did, name]] of all) {
        const req = sent.get(name as string);
        assert.ok(req, `${sid}: a name this test sent`);
        assert.equal(did, req.did ?? '', `${req.name}: its DID as sent`);
        assert.equal(appearsAt(sid), stepOf(req.pin), `${req.name}: sealed under the PIN it was sent with`);
      }
    } finally {
      node.kill('SIGTERM');
      await node.exited;
    }
  });

  void it('a temporary file left by an interrupted write does not disturb a restart', async () => {
    const paths = instance();
    const ring = await openKeyring({ path: paths.keyringFile, kdf: TEST_PIN_KEY_PARAMS, log: silentLogger() });
    const kept = await ring.add({ name: 'Kept', did: '5550001' });
    const sealed = await ring.add({ name: 'Sealed', pin: PINS[0] });
    const before = readFileSync(paths.keyringFile);
    // What a write killed between creating its temporary file and renaming it leaves: a partial
    // copy of the next keyring (here: the current one cut short) under the writer's pid.
    const leftovers = [`${paths.keyringFile}.tmp-999999`, `${paths.keyringFile}.tmp-1`];
    writeFileSync(leftovers[0]!, before.subarray(0, before.length - 700));
    writeFileSync(leftovers[1]!, '');

    const node = await startNodeProcess(paths);
    try {
      const [plain, , all] = await listByPin(node.port);
      assert.deepEqual([...plain!.keys()], [kept.sidHex]);
      assert.deepEqual([...all!.keys()], [kept.sidHex, sealed.sidHex]);
      assert.deepEqual(all!.get(kept.sidHex), [kept.signingIdHex, '5550001', 'Kept']);
      // The node writes its own temporary files; a later add still commits.
      const r = await request(node.port, 'POST', '/restful/keyring/add?name=After');
      assert.equal(r.status, 201);
      assert.equal(decodeKeyringFile(readFileSync(paths.keyringFile)).slots.length, 3);
    } finally {
      node.kill('SIGTERM');
      const exit = await node.exited;
      assert.equal(exit.code, 0);
    }
    // The node owns the instance, so it removed what the killed writer left.
    for (const leftover of leftovers) assert.equal(existsSync(leftover), false, `${leftover} removed at start-up`);
  });

  void it('a truncated or corrupted keyring file makes the node refuse to start, naming the problem', async () => {
    const source = instance();
    const ring = await openKeyring({ path: source.keyringFile, kdf: TEST_PIN_KEY_PARAMS, log: silentLogger() });
    await ring.add({ name: 'One' });
    await ring.add({ name: 'Two', pin: PINS[1] });
    const good = readFileSync(source.keyringFile);
    const countAt = 16 + 2 + 8 + 16; // magic, version, kdf, limits, salt: then the slot count
    const withCount = (n: number): Buffer => {
      const b = Buffer.from(good);
      b.writeUInt32LE(n, countAt);
      return b;
    };
    const damaged: Array<[string, Buffer]> = [
      ['empty (truncated to nothing)', Buffer.alloc(0)],
      ['truncated in the header', good.subarray(0, 20)],
      ['truncated in a slot', good.subarray(0, good.length - 100)],
      ['trailing bytes', Buffer.concat([good, Buffer.from('garbage')])],
      ['not a keyring file', Buffer.from('hello, I am not a keyring\n'.repeat(10))],
      ['slot count too high', withCount(3)],
      ['slot count too low', withCount(1)],
    ];

    await Promise.all(
      damaged.map(async ([what, bytes]) => {
        const paths = instance();
        writeFileSync(paths.keyringFile, bytes);
        const exit = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
          const child = spawn(process.execPath, cliArgs(paths.root, ['start', '--port', '0']), {
            cwd: REPO_ROOT,
            env: cliEnv(),
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          children.add(child);
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`${what}: the node started (or hung) instead of refusing: ${stdout}`));
          }, 15_000);
          child.on('close', (code) => {
            clearTimeout(timer);
            children.delete(child);
            resolve({ code, stdout, stderr });
          });
        });
        assert.equal(exit.code, 1, what);
        assert.match(exit.stderr, /^tendril: Keyring file is corrupt: .+\n$/, `${what}: ${exit.stderr}`);
        assert.doesNotMatch(exit.stdout, /REST API/, `${what}: never served`);
        assert.deepEqual(readFileSync(paths.keyringFile), bytes, `${what}: the file is left as it was`);
        for (const f of [paths.pidFile, paths.controlSocket, paths.stateFile]) assert.equal(existsSync(f), false, `${what}: ${f} cleaned up`);
      }),
    );

    // One-shot CLI commands refuse the same way, and change nothing.
    const paths = instance();
    writeFileSync(paths.keyringFile, good.subarray(0, good.length - 1));
    const r = await runCli(paths.root, ['keyring', 'add', '--name', 'Three']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tendril: Keyring file is corrupt: /);
    assert.deepEqual(readFileSync(paths.keyringFile), good.subarray(0, good.length - 1));
  });
});
