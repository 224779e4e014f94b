/**
 * A hostile local user (issue 14, findings 6 and 7): the control socket with no moment of wider
 * permissions; instance directories and files that another user could change (writable by
 * others, or theirs), refused at start with a message that says what to mend — so a fake socket
 * or a planted `noauth` configuration there is never used; and every file of secrets written
 * owner-only, whatever was there before (a world-readable file, a link).
 *
 * Tests that act as a second user need root (to start a process as `nobody` and to give files to
 * another owner); they say so when skipped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildConfig } from '../../src/config/config.js';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { isTendrilError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { instancePaths, type InstancePaths } from '../../src/node/instance.js';
import { startNode } from '../../src/node/node.js';
import { listenUnix } from '../../src/http/listener.js';
import { writeFileAtomic } from '../../src/store/atomic-file.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { makeInstance, startTestNode } from '../helpers/node.js';

const IS_ROOT = process.geteuid?.() === 0;
const AS_ROOT = IS_ROOT ? false : 'needs root: it acts as a second local user (uid 65534) and gives files to another owner';
const NOBODY = 65534;
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

const made: string[] = [];
function instance(entries: Record<string, string> = {}): InstancePaths {
  const paths = makeInstance(entries);
  made.push(paths.root);
  return paths;
}
after(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

/** The node will not start there (and, `viaCli`, neither will `tendril start`, saying why). */
async function startRefused(paths: InstancePaths, message: RegExp, viaCli = false): Promise<void> {
  await assert.rejects(
    startNode({ paths, config: () => buildConfig(new Map()), log: silentLogger(), tcp: false, pinKeyParams: TEST_PIN_KEY_PARAMS }),
    (err: unknown) => isTendrilError(err) && err.code === 'INSTANCE_UNSAFE' && message.test(err.message),
  );
  if (viaCli) {
    const cli = await runCli(paths.root, ['start', '--port', '0']);
    assert.equal(cli.code, 1, cli.stdout);
    assert.match(cli.stderr, message);
  }
  assert.ok(!existsSync(paths.pidFile), 'no node took the instance');
}

describe('an instance another user could change is refused', () => {
  it('a directory writable by group or others: refused at start, naming the fix; nothing inside is used', async () => {
    for (const bits of [0o777, 0o770, 0o722]) {
      const paths = instance({ 'api.restful.authorization': 'noauth' });
      chmodSync(paths.root, bits);
      await startRefused(paths, new RegExp(`may be written by other users \\(mode 0${bits.toString(8)}\\); chmod go-w`), bits === 0o777);
      if (bits !== 0o777) continue;
      // `config set` refuses it too: nothing is written where someone else could have planted it.
      const set = await runCli(paths.root, ['config', 'set', 'log.level', 'debug']);
      assert.equal(set.code, 1);
      assert.match(set.stderr, /Unsafe instance directory/);
    }
  });

  it('a fake control socket in such a directory: the node refuses to start, the fake hears nothing', async () => {
    const paths = instance();
    chmodSync(paths.root, 0o777);
    let heard = 0;
    const fake = createServer((s) => {
      heard++;
      s.destroy();
    });
    await new Promise<void>((resolve) => fake.listen(paths.controlSocket, resolve));
    try {
      await startRefused(paths, /may be written by other users/);
      const list = await runCli(paths.root, ['keyring', 'list', '--pin', 'my-secret-pin']);
      assert.equal(list.code, 1);
      assert.match(list.stderr, /Unsafe instance directory/);
      assert.equal(heard, 0, 'the fake socket was never contacted');
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('a directory, configuration, keyring or token file of another user: refused', { skip: AS_ROOT }, async () => {
    const theirs = instance({ 'api.restful.authorization': 'noauth' });
    chownSync(theirs.root, NOBODY, NOBODY);
    await startRefused(theirs, /belongs to uid 65534, not to this user \(uid 0\)/, true);
    for (const file of ['configFile', 'keyringFile', 'tokensFile'] as const) {
      const paths = instance({ 'api.restful.authorization': 'noauth' });
      if (!existsSync(paths[file])) writeFileSync(paths[file], file === 'tokensFile' ? '{"version":1,"tokens":[]}' : '', { mode: 0o600 });
      chownSync(paths[file], NOBODY, NOBODY);
      await startRefused(paths, new RegExp(`${paths[file].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} belongs to uid 65534`));
    }
  });
});

describe('the control socket: owner-only from the moment it exists', () => {
  it('is 0600 the moment it exists, even under umask 000 (a chmod once listening left a window)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tendril-sock-'));
    made.push(dir);
    const path = join(dir, 'tendril.sock');
    const server = createHttpServer();
    const umask = process.umask(0);
    let atBind: string;
    let listening: Promise<void>;
    try {
      listening = listenUnix(server, path);
      // Still in the same turn: what a process connecting now would find.
      atBind = mode(path);
    } finally {
      process.umask(umask);
    }
    await listening;
    assert.equal(atBind, '600');
    assert.equal(mode(path), '600');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('another local user racing the start never connects (EACCES), though it sees the socket', { skip: AS_ROOT }, async () => {
    const paths = instance();
    // Readable and enterable by others, as ~/.tendril often is: only the socket's own mode protects it.
    chmodSync(paths.root, 0o755);
    const prober = spawn(
      process.execPath,
      [
        '-e',
        `const net = require('node:net');
         const path = process.argv[1];
         const seen = { connected: 0, EACCES: 0, ENOENT: 0, other: 0 };
         let stop = false;
         process.stdin.on('data', () => { stop = true; });
         const probe = () => {
           if (stop) { process.stdout.write(JSON.stringify(seen)); process.exit(0); }
           const s = net.connect(path);
           s.once('connect', () => { seen.connected++; s.end('GET /restful/keyring/identities.json HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); setImmediate(probe); });
           s.once('error', (e) => { seen[e.code in seen ? e.code : 'other']++; setImmediate(probe); });
         };
         probe();`,
        paths.controlSocket,
      ],
      { uid: NOBODY, gid: NOBODY, cwd: '/', stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    prober.stdout.setEncoding('utf8');
    prober.stdout.on('data', (t: string) => (out += t));
    const exited = new Promise<void>((resolve) => prober.once('exit', () => resolve()));
    // A node whose umask gives others everything: only the socket's own mode at birth protects it.
    const umask = process.umask(0);
    try {
      for (let i = 0; i < 8; i++) {
        const t = await startTestNode({ paths });
        assert.equal(mode(paths.controlSocket), '600');
        await t.stop();
      }
    } finally {
      process.umask(umask);
    }
    prober.stdin.end('stop');
    await exited;
    const seen = JSON.parse(out) as Record<string, number>;
    assert.equal(seen.connected, 0, `another user connected: ${out}`);
    assert.ok(seen.EACCES! > 0, `the prober raced the socket: ${out}`);
  });
});

describe('files of secrets are owner-only, whatever was there before', () => {
  it('keyring, tokens, configuration, state and socket: 0600 in a 0700 directory, also over files readable by others', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tendril-modes-'));
    made.push(root);
    const paths = instancePaths(join(root, 'instance'));
    // A token file and a configuration left readable by everyone, say by an old copy.
    mkdirSync(paths.root, { mode: 0o700 });
    writeFileSync(paths.configFile, 'api.restful.users.harry.password=potter\n', { mode: 0o644 });
    chmodSync(paths.configFile, 0o644);
    writeFileSync(paths.tokensFile, '{"version":1,"tokens":[]}\n', { mode: 0o644 });
    chmodSync(paths.tokensFile, 0o644);
    const t = await startTestNode({ paths });
    try {
      await t.node.keyring.add({ pin: '1234' });
      await t.node.tokens.generate({ name: 'x' });
      await cliOk(paths.root, ['config', 'set', 'log.level', 'info']);
      assert.equal(mode(paths.root), '700');
      for (const file of [paths.keyringFile, paths.tokensFile, paths.configFile, paths.stateFile, paths.controlSocket]) assert.equal(mode(file), '600', file);
    } finally {
      await t.destroy();
    }
  });

  it('keyring dump --secret FILE: owner-only over a world-readable file, and a link is replaced, never followed', async () => {
    const paths = instance();
    const t = await startTestNode({ paths });
    await t.node.keyring.add({ name: 'dumped' });
    await t.stop();
    const dir = mkdtempSync(join(tmpdir(), 'tendril-dump-'));
    made.push(dir);
    const open = join(dir, 'open.txt');
    writeFileSync(open, 'old', { mode: 0o644 });
    chmodSync(open, 0o644);
    await cliOk(paths.root, ['keyring', 'dump', '--secret', open]);
    assert.equal(mode(open), '600');
    assert.match(readFileSync(open, 'utf8'), /dumped/);
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'not yours', { mode: 0o644 });
    const link = join(dir, 'link.txt');
    symlinkSync(target, link);
    await cliOk(paths.root, ['keyring', 'dump', '--secret', link]);
    assert.equal(lstatSync(link).isSymbolicLink(), false, 'the link itself was replaced');
    assert.equal(mode(link), '600');
    assert.equal(readFileSync(target, 'utf8'), 'not yours', 'the link target is untouched');
  });

  it('writeFileAtomic: the mode it is given whatever the umask; a link at the target is replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tendril-atomic-'));
    made.push(dir);
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'keep');
    const path = join(dir, 'secret');
    symlinkSync(target, path);
    const umask = process.umask(0);
    try {
      writeFileAtomic(path, 'secret', 0o600);
    } finally {
      process.umask(umask);
    }
    assert.equal(mode(path), '600');
    assert.equal(readFileSync(target, 'utf8'), 'keep');
    assert.throws(() => readlinkSync(path));
  });
});
