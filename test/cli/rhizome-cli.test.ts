/**
 * `tendril rhizome add | list | export | import`, driven as a user drives them: the CLI in a
 * child process against one-shot nodes (README "The command line"; spec §3.3, §3.5, §3.6, §3.8,
 * §3.10), asserting on stdout, stderr, exit codes and the files written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { cliArgs, cliEnv, cliOk, killInstanceNode, parseIdentityLines, REPO_ROOT, runCli } from '../helpers/cli.js';
import { makeInstance } from '../helpers/node.js';

const HEX64 = /^[0-9A-F]{64}$/;
const HEX128 = /^[0-9A-F]{128}$/;
const LIST_HEADER = '_id:service:id:version:date:.inserttime:.author:.fromhere:filesize:filehash:sender:recipient:name';
const MiB = 1024 * 1024;

const instances: InstancePaths[] = [];

/** A new instance with the test users and a keyring of the cheapest PIN cost (see cli.test.ts). */
function instance(): InstancePaths {
  const paths = makeInstance();
  instances.push(paths);
  writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
  return paths;
}

after(async () => {
  for (const paths of instances) {
    await killInstanceNode(paths);
    rmSync(paths.root, { recursive: true, force: true });
  }
});

/** `key:value` lines (the value may contain colons) as a map. */
function fields(stdout: string): Map<string, string> {
  return new Map(
    stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as [string, string]),
  );
}

/** `rhizome list` output as rows of named cells, header checked. */
function listRows(stdout: string): Array<Record<string, string>> {
  const [header, ...lines] = stdout.split('\n').filter((l) => l !== '');
  assert.equal(header, LIST_HEADER);
  const names = LIST_HEADER.split(':');
  return lines.map((line) => {
    const cells = line.split(':');
    // The name is the last column and may itself contain colons.
    const row = names.slice(0, -1).map((n, i) => [n, cells[i]!] as const);
    return Object.fromEntries([...row, ['name', cells.slice(names.length - 1).join(':')]]);
  });
}

function sha512File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha512');
    createReadStream(path)
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex').toUpperCase()));
  });
}

/** A file of `size` pseudo-random bytes, written in 1 MiB pieces. */
function bigFile(path: string, size: number): void {
  writeFileSync(path, '');
  const piece = Buffer.alloc(MiB);
  for (let done = 0; done < size; done += MiB) {
    for (let i = 0; i < piece.length; i += 4) piece.writeUInt32LE((done + i) * 2654435761 >>> 0, i);
    writeFileSync(path, piece.subarray(0, Math.min(MiB, size - done)), { flag: 'a' });
  }
}

/** Loaded into a CLI child first: writes its peak resident set (KiB) to a file as it exits. */
const PEAK_PRELOAD =
  'data:text/javascript,import{writeFileSync}from"node:fs";' +
  'process.on("exit",()=>writeFileSync(process.env.TENDRIL_TEST_PEAK_FILE,String(process.resourceUsage().maxRSS)))';

/** Runs the CLI and reports its peak RSS: a command that held a 32 MiB payload in memory shows it. */
function runCliPeak(root: string, args: readonly string[]): Promise<{ code: number | null; stderr: string; peakKiB: number }> {
  const peakFile = join(root, `peak-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PEAK_PRELOAD, ...cliArgs(root, args)], {
      cwd: REPO_ROOT,
      env: cliEnv({ TENDRIL_TEST_PEAK_FILE: peakFile }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, peakKiB: Number(readFileSync(peakFile, 'utf8')) }));
  });
}

void describe('tendril rhizome', { concurrency: 4 }, () => {
  void it('add → list → export → import into another instance → export there: the same bytes', async () => {
    const a = instance();
    const b = instance();
    const file = join(a.root, 'notes.txt');
    writeFileSync(file, 'Rhizome from the command line\n');

    const added = fields(await cliOk(a.root, ['rhizome', 'add', file]));
    const bid = added.get('id')!;
    assert.match(bid, HEX64);
    assert.equal(added.get('service'), 'file');
    assert.equal(added.get('name'), 'notes.txt', 'the file name names a file bundle');
    assert.equal(added.get('filesize'), '30');
    assert.equal(added.get('filehash'), await sha512File(file));
    assert.match(added.get('version')!, /^\d+$/);
    assert.match(added.get('.secret')!, HEX64, 'an anonymous bundle: its secret is the only way to update it');

    const blob = join(a.root, 'blob.bin');
    writeFileSync(blob, Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]));
    const other = fields(await cliOk(a.root, ['rhizome', 'add', blob, '--service', 'Blob', '--name', 'odd: name']));

    const all = listRows(await cliOk(a.root, ['rhizome', 'list']));
    assert.deepEqual(all.map((r) => r.id), [other.get('id'), bid], 'newest first');
    assert.deepEqual(
      { service: all[1]!.service, version: all[1]!.version, filesize: all[1]!.filesize, filehash: all[1]!.filehash, name: all[1]!.name },
      { service: 'file', version: added.get('version'), filesize: '30', filehash: added.get('filehash'), name: 'notes.txt' },
    );
    assert.equal(all[0]!.name, 'odd: name');
    assert.deepEqual(listRows(await cliOk(a.root, ['rhizome', 'list', '--service', 'Blob'])).map((r) => r.id), [other.get('id')]);
    assert.deepEqual(listRows(await cliOk(a.root, ['rhizome', 'list', '--name', 'NOTES%'])).map((r) => r.id), [bid]);
    assert.deepEqual(listRows(await cliOk(a.root, ['rhizome', 'list', '--service', 'none'])), []);

    const rhm = join(a.root, 'out.rhm');
    const raw = join(a.root, 'out.bin');
    const exported = fields(await cliOk(a.root, ['rhizome', 'export', bid.toLowerCase(), '--manifest', rhm, '--payload', raw]));
    assert.equal(exported.get('id'), bid);
    assert.equal(exported.get('version'), added.get('version'));
    assert.deepEqual(readFileSync(raw), readFileSync(file));
    assert.ok(readFileSync(rhm).includes(0), 'a signed manifest: text, NUL, signature');
    assert.deepEqual(fields(await cliOk(a.root, ['rhizome', 'export', bid])), exported, 'without files: the summary only');

    const imported = fields(await cliOk(b.root, ['rhizome', 'import', rhm, raw]));
    assert.equal(imported.get('http_status_code'), '201');
    assert.equal(imported.get('rhizome_bundle_status_code'), '0');
    assert.equal(imported.get('rhizome_payload_status_code'), '1');
    assert.equal(imported.get('id'), bid);
    const again = fields(await cliOk(b.root, ['rhizome', 'import', rhm, raw]));
    assert.equal(again.get('http_status_code'), '200');
    assert.equal(again.get('rhizome_bundle_status_message'), 'Bundle already in store');

    const rhm2 = join(b.root, 'again.rhm');
    const raw2 = join(b.root, 'again.bin');
    await cliOk(b.root, ['rhizome', 'export', bid, '--manifest', rhm2, '--payload', raw2]);
    assert.deepEqual(readFileSync(rhm2), readFileSync(rhm));
    assert.deepEqual(readFileSync(raw2), readFileSync(file));
    assert.deepEqual(listRows(await cliOk(b.root, ['rhizome', 'list'])).map((r) => r.id), [bid]);
  });

  void it('--secret #passphrase names the same bundle every time; each add is a newer version of it', async () => {
    const p = instance();
    const file = join(p.root, 'v.txt');
    writeFileSync(file, 'version one\n');
    const one = fields(await cliOk(p.root, ['rhizome', 'add', file, '--secret', '#our phrase']));
    writeFileSync(file, 'version two, longer\n');
    const two = fields(await cliOk(p.root, ['rhizome', 'add', file, '--secret', '#our phrase']));
    assert.match(one.get('id')!, HEX64);
    assert.equal(two.get('id'), one.get('id'));
    assert.equal(two.get('.secret'), one.get('.secret'));
    assert.ok(BigInt(two.get('version')!) > BigInt(one.get('version')!));
    const other = fields(await cliOk(p.root, ['rhizome', 'add', file, '--secret', '#another phrase']));
    assert.notEqual(other.get('id'), one.get('id'));

    const rows = listRows(await cliOk(p.root, ['rhizome', 'list']));
    assert.equal(rows.length, 2, 'the second add replaced the first');
    const raw = join(p.root, 'out.bin');
    await cliOk(p.root, ['rhizome', 'export', one.get('id')!, '--payload', raw]);
    assert.equal(readFileSync(raw, 'utf8'), 'version two, longer\n');

    const hex = await runCli(p.root, ['rhizome', 'add', file, '--secret', 'ABC']);
    assert.equal(hex.code, 1);
    assert.equal(
      hex.stderr,
      'tendril: warning: --secret on the command line is visible to other local users (ps); prefer --secret-file, --ask-secret or TENDRIL_BUNDLE_SECRET\n' +
        'tendril: Invalid "bundle-secret" form part (HTTP 400)\n',
    );
  });

  void it('--author: a keyring identity authors the bundle; an unknown SID is refused with the node\'s reason', async () => {
    const p = instance();
    const file = join(p.root, 'a.txt');
    writeFileSync(file, 'authored\n');
    const [identity] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--name', 'Ann']));
    const sid = identity![0]!;
    const authored = fields(await cliOk(p.root, ['rhizome', 'add', file, '--author', sid]));
    assert.equal(authored.get('.author'), sid);
    assert.match(authored.get('BK')!, HEX64);
    const [row] = listRows(await cliOk(p.root, ['rhizome', 'list']));
    assert.deepEqual([row!['.author'], row!['.fromhere']], [sid, '1']);

    const unknown = await runCli(p.root, ['rhizome', 'add', file, '--author', 'A'.repeat(64)]);
    assert.deepEqual([unknown.code, unknown.stdout, unknown.stderr], [1, '', 'tendril: Author is not in keyring (HTTP 419)\n']);
    assert.equal(listRows(await cliOk(p.root, ['rhizome', 'list'])).length, 1);
  });

  void it('export of an unknown or malformed bundle id fails cleanly and writes no file; bad imports say why', async () => {
    const p = instance();
    const out = join(p.root, 'never.bin');
    const unknown = await runCli(p.root, ['rhizome', 'export', 'B'.repeat(64), '--payload', out, '--manifest', out]);
    assert.deepEqual([unknown.code, unknown.stdout, unknown.stderr], [1, '', 'tendril: Bundle not found (HTTP 404)\n']);
    assert.equal(existsSync(out), false);
    const bad = await runCli(p.root, ['rhizome', 'export', 'xyz']);
    assert.deepEqual([bad.code, bad.stderr], [1, 'tendril: invalid bundle id: xyz (expected 64 hex digits)\n']);
    const missing = await runCli(p.root, ['rhizome', 'add', join(p.root, 'no-such-file')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^tendril: ENOENT/);
    const smuggled = await runCli(p.root, ['rhizome', 'add', p.configFile, '--name', `x\nid=${'C'.repeat(64)}`]);
    assert.deepEqual([smuggled.code, smuggled.stderr], [1, 'tendril: --name cannot contain a line break or NUL\n']);

    // A payload that is not the manifest's: refused after the upload, with the node's reasons.
    const file = join(p.root, 'x.txt');
    writeFileSync(file, 'original\n');
    const added = fields(await cliOk(p.root, ['rhizome', 'add', file]));
    const rhm = join(p.root, 'x.rhm');
    await cliOk(p.root, ['rhizome', 'export', added.get('id')!, '--manifest', rhm]);
    const q = instance();
    const forged = join(p.root, 'forged.txt');
    writeFileSync(forged, 'forgery!\n');
    const wrong = await runCli(q.root, ['rhizome', 'import', rhm, forged]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^tendril: Inconsistent filehash \(HTTP 422\): Payload hash \([0-9A-F]{128}\) contradicts manifest \(filehash=[0-9A-F]{128}\)\n$/);
    const noPayload = await runCli(q.root, ['rhizome', 'import', rhm]);
    assert.deepEqual([noPayload.code, noPayload.stderr], [1, 'tendril: Missing "payload" form part (HTTP 400)\n']);
    assert.deepEqual(listRows(await cliOk(q.root, ['rhizome', 'list'])), []);
  });

  void it('a 32 MiB file round-trips, streamed both ways', async () => {
    const a = instance();
    const b = instance();
    const file = join(a.root, 'big.bin');
    bigFile(file, 32 * MiB);
    const small = join(a.root, 'small.bin');
    writeFileSync(small, 'small');
    const hash = await sha512File(file);

    // The same command with a tiny file first: its peak is the baseline of a CLI process.
    const baseline = await runCliPeak(a.root, ['rhizome', 'add', small]);
    assert.equal(baseline.code, 0, baseline.stderr);
    const add = await runCliPeak(a.root, ['rhizome', 'add', file]);
    assert.equal(add.code, 0, add.stderr);
    const [row] = listRows(await cliOk(a.root, ['rhizome', 'list', '--name', 'big.bin']));
    assert.deepEqual([row!.filesize, row!.filehash], [String(32 * MiB), hash]);
    assert.match(row!.filehash!, HEX128);

    const rhm = join(a.root, 'big.rhm');
    const raw = join(a.root, 'big.out');
    const exp = await runCliPeak(a.root, ['rhizome', 'export', row!.id!, '--manifest', rhm, '--payload', raw]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal(await sha512File(raw), hash);

    const imp = await runCliPeak(b.root, ['rhizome', 'import', rhm, raw]);
    assert.equal(imp.code, 0, imp.stderr);
    const raw2 = join(b.root, 'big.again');
    await cliOk(b.root, ['rhizome', 'export', row!.id!, '--payload', raw2]);
    assert.equal(await sha512File(raw2), hash);

    // Streamed, the peak does not depend on the payload size: V8 collects the transfer's spent
    // chunks (external memory) lazily, which costs about 30 MiB over a tiny add here, and the same
    // for 32 MiB or 200 MiB. Holding the payload would add its 32 MiB on top of that (and a framed
    // copy, as encodeMultipart makes, 32 more). The one-shot node runs in the same process, so
    // both ends of each transfer are counted.
    for (const [what, r] of [['add', add], ['export', exp], ['import', imp]] as const) {
      const grew = (r.peakKiB - baseline.peakKiB) / 1024;
      assert.ok(grew < 48, `${what}: peak RSS grew by ${grew.toFixed(1)} MiB over a 5-byte add`);
    }
  });
});
