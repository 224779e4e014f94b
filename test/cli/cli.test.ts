/**
 * The command line, driven as a user drives it: `tendril --instance DIR …` in a child process,
 * asserting on stdout, stderr, exit codes, files and what the node then serves over HTTP
 * (README "The command line", "Configuration"; reference vectors in test/vectors/identities).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KEYS } from '../../src/config/schema.js';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { isAlive } from '../../src/node/pid-lock.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { cliOk, killInstanceNode, occupyPort, parseIdentityLines, pidOf, randomBusyablePort, runCli } from '../helpers/cli.js';
import { HARRY, makeInstance, request } from '../helpers/node.js';
import { VECTORS } from '../helpers/vectors.js';

const HEX64 = /^[0-9A-F]{64}$/;
const LIST = '/restful/keyring/identities.json';
const SECRET_DUMP = VECTORS.identities('keyring_dump_secret.txt');
const PUBLIC_DUMP = VECTORS.identities('keyring_dump_public.txt');
/** The identities of the reference vectors. */
const VECTOR_IDS = (JSON.parse(readFileSync(VECTORS.file('identities.json'), 'utf8')) as {
  identities: Array<{ label: string; sid: string; identity: string }>;
}).identities;
const ALICE = VECTOR_IDS.find((i) => i.label === 'alice')!;

/** Instances made by this file, removed at the end (after any node left in them is stopped). */
const instances: InstancePaths[] = [];

/**
 * A new instance directory with the test users configured. Unless `fresh`, it starts with an empty
 * keyring file whose PIN key derivation is the cheapest (the file carries its own cost), so the
 * many one-shot commands do not each pay for a 64 MiB Argon2id run; `fresh` instances have no
 * keyring file and get the production cost, as a user's would.
 */
function instance(entries: Record<string, string> = {}, fresh = false): InstancePaths {
  const paths = makeInstance(entries);
  instances.push(paths);
  if (!fresh) writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
  return paths;
}

after(async () => {
  for (const paths of instances) {
    await killInstanceNode(paths);
    rmSync(paths.root, { recursive: true, force: true });
  }
});

/** The rows of an HTTP identity list as [sid, identity, did, name], '' for null as the CLI prints them. */
async function httpRows(port: number, query = ''): Promise<string[][]> {
  const r = await request(port, 'GET', LIST + query, { auth: HARRY });
  assert.equal(r.status, 200, r.text);
  return r.json<{ rows: Array<Array<string | null>> }>().rows.map((row) => row.map((c) => c ?? ''));
}

/** The rows of the reference's `keyring list` vectors (a count line, then the CLI's format). */
function vectorListRows(file: string): string[][] {
  return parseIdentityLines(readFileSync(VECTORS.identities(file), 'utf8').replace(/^\d+\n/, ''));
}

const sortRows = (rows: readonly string[][]): string[][] => [...rows].sort((a, b) => a[0]!.localeCompare(b[0]!));
const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The groups use separate instances and run side by side; within a group tests run in order.
// (One-shot commands on one instance must not overlap: each takes the instance lock.)
void describe('tendril CLI', { concurrency: 4 }, () => {
  void describe('config', { concurrency: 1 }, () => {
    void it('get prints the default of an unset key; set, get, del and list change and read the file', async () => {
      const p = instance();
      assert.equal(await cliOk(p.root, ['config', 'get', 'rhizome.http.port']), '4110\n');

      const set = await runCli(p.root, ['config', 'set', 'rhizome.http.port', '4321']);
      assert.deepEqual([set.code, set.stdout, set.stderr], [0, '', '']);
      assert.match(readFileSync(p.configFile, 'utf8'), /^rhizome\.http\.port=4321$/m);
      assert.equal(statSync(p.configFile).mode & 0o777, 0o600);
      assert.equal(await cliOk(p.root, ['config', 'get', 'rhizome.http.port']), '4321\n');

      await cliOk(p.root, ['config', 'set', 'api.restful.users.neville.password', 'longbottom']);
      const list = await cliOk(p.root, ['config', 'list']);
      assert.ok(list.includes('rhizome.http.port=4321\n'), list);
      assert.ok(list.includes('api.restful.users.neville.password=********\n'), 'passwords are masked');
      assert.ok(list.includes('api.restful.users.harry.password=********\n'));
      for (const secret of ['longbottom', 'potter', 'weasley', 'grainger']) assert.ok(!list.includes(secret), `${secret} not shown`);

      await cliOk(p.root, ['config', 'del', 'rhizome.http.port']);
      assert.doesNotMatch(readFileSync(p.configFile, 'utf8'), /rhizome\.http\.port/);
      assert.equal(await cliOk(p.root, ['config', 'get', 'rhizome.http.port']), '4110\n', 'back to the default');
    });

    void it('an invalid value is refused with a message naming the key, and the file is left unchanged', async () => {
      const p = instance({ 'rhizome.http.port': '4400' });
      const before = readFileSync(p.configFile);
      const cases: Array<[string, string]> = [
        ['rhizome.http.port', 'abc'],
        ['rhizome.http.port', '70000'],
        ['api.restful.newsince_timeout', '5x'],
        ['rhizome.enable', 'maybe'],
        ['api.restful.users.harry.password', 'p'.repeat(50)],
      ];
      // No node is involved, so these may run at once.
      const results = await Promise.all(cases.map(([key, value]) => runCli(p.root, ['config', 'set', key, value])));
      results.forEach((r, i) => {
        const [key, value] = cases[i]!;
        assert.notEqual(r.code, 0, `${key}=${value} refused`);
        // (A password on the command line is preceded by a warning that ps shows it.)
        assert.match(r.stderr, new RegExp(`^tendril: Invalid configuration value: ${escapeRe(key)}: `, 'm'), `${key}=${value}: ${r.stderr}`);
        assert.equal(r.stdout, '');
      });
      assert.deepEqual(readFileSync(p.configFile), before);
    });

    void it('an unknown key is refused by set, get and del, and the file is left unchanged', async () => {
      const p = instance();
      const before = readFileSync(p.configFile);
      const results = await Promise.all([
        runCli(p.root, ['config', 'set', 'no.such.key', '1']),
        runCli(p.root, ['config', 'get', 'no.such.key']),
        runCli(p.root, ['config', 'del', 'no.such.key']),
        runCli(p.root, ['config', 'set', 'api.restful.users.bad@name.password', 'x']),
      ]);
      results.forEach((r, i) => {
        assert.notEqual(r.code, 0);
        const key = i === 3 ? 'api.restful.users.bad@name.password' : 'no.such.key';
        assert.equal(r.stderr, `tendril: Unknown configuration key: ${key}\n`);
      });
      assert.deepEqual(readFileSync(p.configFile), before);
    });

    void it('list --all documents every key with its default', async () => {
      const p = instance();
      const out = await cliOk(p.root, ['config', 'list', '--all']);
      for (const spec of KEYS) {
        const head = `# ${spec.key}${spec.default === undefined ? '' : ` (default ${spec.default})`}: `;
        assert.ok(out.includes(head), `${spec.key} documented`);
      }
      assert.ok(out.includes('# rhizome.http.port (default 4110): '));
      assert.ok(out.includes('api.restful.users.harry.password=********\n'), 'set keys are listed too, masked');
      assert.ok(!out.includes('potter'));
    });
  });

  void describe('keyring with no node running (a one-shot node serves each command)', { concurrency: 1 }, () => {
    void it('add, list with and without --pin, set, remove; nothing is left running', async () => {
      const p = instance();
      const [ann] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--did', '5551234', '--name', 'Ann Lee']));
      assert.match(ann![0]!, HEX64);
      assert.match(ann![1]!, HEX64);
      assert.deepEqual(ann!.slice(2), ['5551234', 'Ann Lee']);
      const [pinned] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--name', 'Pinned', '--pin', 's3cret pin']));
      assert.equal(pinned![3], 'Pinned');
      const [bare] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add']));
      assert.deepEqual(bare!.slice(2), ['', '']);

      // The PIN identity is sealed in the file: a later command sees it only with its PIN.
      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list'])), [ann, bare]);
      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list', '--pin', 'wrong', '--pin', 's3cret pin'])), [ann, pinned, bare]);
      assert.deepEqual(
        parseIdentityLines(await cliOk(p.root, ['keyring', 'list'], { env: { TENDRIL_PIN: 's3cret pin' } })),
        [ann, pinned, bare],
        'TENDRIL_PIN passes a PIN privately',
      );

      const [renamed] = parseIdentityLines(await cliOk(p.root, ['keyring', 'set', ann![0]!, '--did', '5559999', '--name', 'Ann Renamed']));
      assert.deepEqual(renamed, [ann![0], ann![1], '5559999', 'Ann Renamed']);
      // A PIN identity is "not found" until its PIN is given.
      const hidden = await runCli(p.root, ['keyring', 'set', pinned![0]!, '--name', 'X']);
      assert.equal(hidden.code, 1);
      assert.equal(hidden.stderr, 'tendril: Identity not found (HTTP 404)\n');
      const [repinned] = parseIdentityLines(await cliOk(p.root, ['keyring', 'set', pinned![0]!, '--name', 'Pinned 2', '--pin', 's3cret pin']));
      assert.deepEqual(repinned, [pinned![0], pinned![1], '', 'Pinned 2']);
      const badDid = await runCli(p.root, ['keyring', 'add', '--did', '12']);
      assert.equal(badDid.code, 1);
      assert.equal(badDid.stderr, 'tendril: Invalid DID (HTTP 400)\n');

      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'remove', ann![0]!])), [renamed]);
      const notPinned = await runCli(p.root, ['keyring', 'remove', pinned![0]!]);
      assert.equal(notPinned.code, 1, 'a PIN identity cannot be removed without its PIN');
      await cliOk(p.root, ['keyring', 'remove', pinned![0]!, '--pin', 's3cret pin']);
      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list', '--pin', 's3cret pin'])), [bare]);

      // Each command's node stopped with it and cleaned up after itself.
      for (const file of [p.pidFile, p.controlSocket, p.stateFile, p.portFile]) assert.equal(existsSync(file), false, file);
    });

    void it('lock without a running node fails with a clear message', async () => {
      const p = instance();
      const r = await runCli(p.root, ['keyring', 'lock', 'A'.repeat(64)]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'tendril: The node is not running\n');
      assert.equal(r.stdout, '');
      assert.equal(existsSync(p.pidFile), false);
    });
  });

  void describe('keyring dump / load (the reference `keyring dump --secret` text)', { concurrency: 1 }, () => {
    void it('loads the reference dump with PINs in order; dump reproduces it byte for byte', async () => {
      const p = instance({}, true);
      const loaded = parseIdentityLines(
        await cliOk(p.root, ['keyring', 'load', SECRET_DUMP, '--pin', '', '--pin', '', '--pin', '1234', '--pin', '']),
      );
      assert.deepEqual(
        loaded.map((row) => row[0]),
        ['carol', 'bob', 'alice', 'dave'].map((label) => VECTOR_IDS.find((i) => i.label === label)!.sid),
      );

      // dump reads the keyring file itself (no node), so these may run at once.
      const file = join(p.root, 'out.txt');
      const [secret, pub, noPin, toFile] = await Promise.all([
        cliOk(p.root, ['keyring', 'dump', '--secret', '--pin', '1234']),
        cliOk(p.root, ['keyring', 'dump', '--pin', '1234']),
        cliOk(p.root, ['keyring', 'dump', '--secret']),
        cliOk(p.root, ['keyring', 'dump', '--secret', '--pin', '1234', file]),
      ]);
      assert.equal(secret, readFileSync(SECRET_DUMP, 'utf8'));
      assert.equal(pub, readFileSync(PUBLIC_DUMP, 'utf8'));
      // Without 1234, Alice (protected by the third --pin) is absent; the rest are renumbered.
      assert.ok(!noPin.includes(ALICE.identity));
      assert.deepEqual([...new Set(noPin.split('\n').filter(Boolean).map((l) => l.split(':')[0]))], ['0', '1', '2']);
      assert.equal(toFile, '');
      assert.deepEqual(readFileSync(file), readFileSync(SECRET_DUMP));
      assert.equal(statSync(file).mode & 0o777, 0o600);

      // The reference's own `keyring list` output with and without the PIN, as sets of rows.
      const listPin = await cliOk(p.root, ['keyring', 'list', '--pin', '1234']);
      const listNoPin = await cliOk(p.root, ['keyring', 'list']);
      assert.deepEqual(sortRows(parseIdentityLines(listPin)), sortRows(vectorListRows('keyring_list_pin1234.txt')));
      assert.deepEqual(sortRows(parseIdentityLines(listNoPin)), sortRows(vectorListRows('keyring_list_nopin.txt')));
    });

    void it('identities made by Tendril dump and reload into a fresh instance with the same SIDs, DIDs, names and PINs', async () => {
      const a = instance();
      const made: string[][] = [];
      for (const args of [['--did', '5550001', '--name', 'First'], ['--name', 'Sealed Ünïcode', '--pin', 'pw'], []]) {
        made.push(parseIdentityLines(await cliOk(a.root, ['keyring', 'add', ...args]))[0]!);
      }
      const dumpFile = join(a.root, 'ids.txt');
      await cliOk(a.root, ['keyring', 'dump', '--secret', '--pin', 'pw', dumpFile]);
      const dumped = readFileSync(dumpFile);

      // A dump lists identities in the reference's order (by Rhizome Secret), not creation order,
      // and the i-th --pin of load protects the i-th identity of the dump: the PIN goes where Sealed is.
      const lines = dumped.toString('latin1').split('\n').filter(Boolean);
      assert.deepEqual([...new Set(lines.map((l) => l.split(':')[0]))], ['0', '1', '2']);
      const sealedAt = Number(lines.find((l) => l.includes('CRYPTOCOMBINED') && l.includes(made[1]![1]!))!.split(':')[0]);
      const pins = Array.from({ length: sealedAt + 1 }, (_, i) => ['--pin', i === sealedAt ? 'pw' : '']).flat();

      const b = instance({}, true);
      const loaded = parseIdentityLines(await cliOk(b.root, ['keyring', 'load', dumpFile, ...pins]));
      assert.deepEqual(sortRows(loaded), sortRows(made));
      assert.deepEqual(sortRows(parseIdentityLines(await cliOk(b.root, ['keyring', 'list']))), sortRows([made[0]!, made[2]!]), 'Sealed took PIN pw');
      assert.deepEqual(sortRows(parseIdentityLines(await cliOk(b.root, ['keyring', 'list', '--pin', 'pw']))), sortRows(made));
      assert.deepEqual(Buffer.from(await cliOk(b.root, ['keyring', 'dump', '--secret', '--pin', 'pw'])), dumped);
    });

    void it('a malformed dump is refused with a clear message and loads nothing', async () => {
      const p = instance();
      const text = readFileSync(SECRET_DUMP, 'latin1');
      // Dave (the last identity) loses a hex digit of his secret: the first three entries are fine.
      const shortHex = join(p.root, 'short.txt');
      writeFileSync(shortHex, text.replace(/(3: type=0x06\(CRYPTOCOMBINED\).* sec=[0-9A-F]+)[0-9A-F]\n/, '$1\n'), 'latin1');
      assert.notDeepEqual(readFileSync(shortHex), readFileSync(SECRET_DUMP));
      const garbage = join(p.root, 'garbage.txt');
      writeFileSync(garbage, 'this is not a keyring dump\n');
      // A dump taken without --secret has no secrets to load.
      for (const file of [shortHex, garbage, PUBLIC_DUMP]) {
        const r = await runCli(p.root, ['keyring', 'load', file]);
        assert.equal(r.code, 1, file);
        assert.match(r.stderr, /^tendril: (Malformed keyring dump|Unsupported keyring entry): .+ \(HTTP 400\)\n$/, `${file}: ${r.stderr}`);
        assert.ok(!r.stderr.includes('C85712027667EBB1'), 'no secret is quoted back');
        assert.equal(r.stdout, '');
      }
      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list', '--pin', '1234'])), []);
    });
  });

  void describe('start --detach / status / stop', { concurrency: 1 }, () => {
    let busy: Server | undefined;
    after(() => busy?.close());

    /** Parses the `start --detach` banner: pid and REST port. */
    function banner(stdout: string): { pid: number; port: number } {
      const pid = /^Tendril \S+ is running \(pid (\d+)\)$/m.exec(stdout);
      const url = /^ {2}REST API: {2}http:\/\/127\.0\.0\.1:(\d+)\/restful\/$/m.exec(stdout);
      assert.ok(pid && url, stdout);
      return { pid: Number(pid[1]), port: Number(url[1]) };
    }

    void it('runs a daemon the CLI reaches through its control socket; status, a second start, stop', async () => {
      const base = await randomBusyablePort();
      busy = await occupyPort(base);
      assert.ok(busy, 'the base port is held by the test');
      const p = instance({ 'rhizome.http.port': String(base) });

      const stopped = await runCli(p.root, ['status']);
      assert.equal(stopped.code, 3);
      assert.match(stopped.stdout, /^status: stopped$/m);

      const start = await runCli(p.root, ['start', '--detach']);
      assert.equal(start.code, 0, start.stderr);
      const { pid, port } = banner(start.stdout);
      assert.ok(port > base && port <= base + 100, `the next free port after the busy ${base}: ${port}`);
      assert.equal(readFileSync(p.portFile, 'utf8'), `${port}\n`);
      assert.equal(pidOf(p), pid);
      assert.ok(isAlive(pid));
      assert.ok(statSync(p.controlSocket).isSocket());

      const again = await runCli(p.root, ['start', '--detach']);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, new RegExp(`already running \\(pid ${pid}\\)`));
      assert.equal(pidOf(p), pid, 'the running node keeps its pid file');
      assert.ok(isAlive(pid));

      const status = await runCli(p.root, ['status']);
      assert.equal(status.code, 0);
      assert.match(status.stdout, /^status: running$/m);
      assert.match(status.stdout, new RegExp(`^pid: ${pid}$`, 'm'));
      assert.match(status.stdout, new RegExp(`^url: http://127\\.0\\.0\\.1:${port}/restful/$`, 'm'));
      assert.match(status.stdout, new RegExp(`^control: ${escapeRe(p.controlSocket)}$`, 'm'));

      // An identity the CLI adds is served over HTTP at once: the CLI spoke to this node (a
      // one-shot node could not have taken the instance lock, and would not share its memory).
      assert.deepEqual(await httpRows(port), []);
      const [live] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--did', '5550001', '--name', 'Live']));
      assert.deepEqual(await httpRows(port), [live]);
      // And the CLI sees what HTTP clients did, including a PIN identity unlocked only in memory.
      const viaHttp = await request(port, 'POST', '/restful/keyring/add?name=ViaHttp&pin=pp', { auth: HARRY });
      assert.equal(viaHttp.status, 201);
      const http = viaHttp.json<{ identity: { sid: string; identity: string } }>().identity;
      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list'])), [live, [http.sid, http.identity, '', 'ViaHttp']]);

      const [set] = parseIdentityLines(await cliOk(p.root, ['keyring', 'set', live![0]!, '--name', 'Live 2']));
      assert.deepEqual(set, [live![0], live![1], '5550001', 'Live 2']);
      const [locked] = parseIdentityLines(await cliOk(p.root, ['keyring', 'lock', http.sid]));
      assert.equal(locked![0], http.sid);
      assert.deepEqual(await httpRows(port), [set], 'locked in the running node');
      assert.equal((await httpRows(port, '?pin=pp')).length, 2, 'its PIN unlocks it again');
      await cliOk(p.root, ['keyring', 'remove', live![0]!]);
      assert.deepEqual((await httpRows(port)).map((r) => r[0]), [http.sid]);

      // A user added with config set works at once, without a restart.
      const neville = 'Basic ' + Buffer.from('neville:longbottom').toString('base64');
      assert.equal((await request(port, 'GET', LIST, { auth: neville })).status, 401);
      await cliOk(p.root, ['config', 'set', 'api.restful.users.neville.password', 'longbottom']);
      let reloaded = false;
      for (let i = 0; i < 60 && !reloaded; i++) {
        reloaded = (await request(port, 'GET', LIST, { auth: neville })).status === 200;
        if (!reloaded) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(reloaded, 'the running node reloaded its config');

      const stop = await runCli(p.root, ['stop']);
      assert.equal(stop.code, 0);
      assert.equal(stop.stdout, `stopped pid ${pid}\n`);
      assert.equal(isAlive(pid), false);
      for (const file of [p.pidFile, p.controlSocket, p.stateFile, p.portFile]) assert.equal(existsSync(file), false, `${file} removed`);
      const afterStop = await runCli(p.root, ['status']);
      assert.equal(afterStop.code, 3);
      assert.match(afterStop.stdout, /^status: stopped$/m);
      const stopAgain = await runCli(p.root, ['stop']);
      assert.equal(stopAgain.code, 1);
      assert.equal(stopAgain.stdout, 'Tendril is not running\n');
      // What the daemon held was in the file all along.
      assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list', '--pin', 'pp'])).map((r) => r[0]), [http.sid]);
    });

    void it('start --port N overrides the configured port', async () => {
      const configured = await randomBusyablePort();
      const wanted = await randomBusyablePort();
      const p = instance({ 'rhizome.http.port': String(configured) });
      const bad = await runCli(p.root, ['start', '--detach', '--port', '70000']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /port/);
      assert.equal(existsSync(p.pidFile), false);

      const start = await runCli(p.root, ['start', '--detach', '--port', String(wanted)]);
      assert.equal(start.code, 0, start.stderr);
      const { pid, port } = banner(start.stdout);
      try {
        assert.equal(port, wanted);
        assert.equal(readFileSync(p.portFile, 'utf8'), `${wanted}\n`);
        assert.equal((await request(wanted, 'GET', LIST, { auth: HARRY })).status, 200);
        assert.match((await runCli(p.root, ['status'])).stdout, new RegExp(`^url: http://127\\.0\\.0\\.1:${wanted}/restful/$`, 'm'));
      } finally {
        const stop = await runCli(p.root, ['stop']);
        assert.equal(stop.stdout, `stopped pid ${pid}\n`);
      }
    });
  });
});
