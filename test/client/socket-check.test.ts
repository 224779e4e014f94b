/**
 * The CLI checks who could have bound the control socket before sending it anything (issue 14
 * item 6): a socket planted by another local user in an instance directory that user can write
 * never receives a request, a PIN least of all; the filesystem rules behind the check, one by one.
 * (Run as root, as the tests are: other users are made with chown and child processes' uid.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkControlSocket } from '../../src/client/node.js';
import { instancePaths } from '../../src/node/instance.js';
import { runCli } from '../helpers/cli.js';

const VICTIM = 4101;
const ATTACKER = 4102;
const root = mkdtempSync(join(tmpdir(), 'tendril-sockcheck-'));
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));

/** A directory under the test root with an owner and a mode. */
function dir(name: string, uid: number, mode: number): string {
  const path = join(root, name);
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, uid);
  chmodSync(path, mode);
  return path;
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.listen(path, () => resolve(server));
  });
}

const refused = (fn: () => void, why: RegExp): void =>
  assert.throws(fn, (err: Error) => err.name === 'UntrustedSocketError' && why.test(err.message));

const isRoot = process.getuid?.() === 0;

describe('the control socket check', { skip: !isRoot && 'needs root to make other users' }, () => {
  it('a fake socket planted by another user in a directory others can write never receives the PIN', async () => {
    const inst = dir('shared-instance', VICTIM, 0o777);
    const paths = instancePaths(inst);
    const heard = join(root, 'heard.txt');
    writeFileSync(heard, '');
    chmodSync(heard, 0o666);
    // The attacker's process: listens where the node's socket would be, writes a pid file, and
    // records every byte it is sent.
    const fake = spawn(
      process.execPath,
      [
        '-e',
        `const net = require('net'), fs = require('fs');
         net.createServer((s) => s.on('data', (d) => fs.appendFileSync(${JSON.stringify(heard)}, d))).listen(${JSON.stringify(paths.controlSocket)}, () => {
           fs.writeFileSync(${JSON.stringify(paths.pidFile)}, process.pid + '\\n');
           console.log('listening');
         });`,
      ],
      { uid: ATTACKER, gid: ATTACKER, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => fake.stdout.once('data', () => resolve()));
      const r = await runCli(inst, ['keyring', 'list'], { env: { TENDRIL_PIN: '7391' } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is writable by other users .*: its socket is not trusted/);
      assert.equal(readFileSync(heard, 'utf8'), '', 'the fake socket heard nothing');
    } finally {
      fake.kill();
    }
  });

  it('passes the instance owner\'s own socket, and refuses each way another user could have placed one', async () => {
    const home = dir('home', VICTIM, 0o755);
    const inst = dir('home/inst', VICTIM, 0o700);
    const sock = join(inst, 'tendril.sock');
    const server = await listen(sock);
    try {
      chownSync(sock, VICTIM, VICTIM);
      checkControlSocket(sock, VICTIM);
      checkControlSocket(sock, 0); // root may talk to a service user's node
      refused(() => checkControlSocket(sock, ATTACKER), /belongs to uid 4101, not to you \(uid 4102\)/);
      chownSync(sock, ATTACKER, ATTACKER);
      refused(() => checkControlSocket(sock, VICTIM), /belongs to uid 4102, not to the instance's owner/);
      chownSync(sock, VICTIM, VICTIM);
      chmodSync(inst, 0o770);
      refused(() => checkControlSocket(sock, VICTIM), /writable by other users \(mode 770\)/);
      chmodSync(inst, 0o700);
      // A directory above that others can write: they could move the instance away and replace it.
      chmodSync(home, 0o777);
      refused(() => checkControlSocket(sock, VICTIM), /above the instance directory, is writable by other users/);
      // Unless it is sticky, as /tmp is: then only the owner may rename what is in it.
      chmodSync(home, 0o1777);
      checkControlSocket(sock, VICTIM);
      chmodSync(home, 0o755);
      chownSync(home, ATTACKER, ATTACKER);
      refused(() => checkControlSocket(sock, VICTIM), /above the instance directory, belongs to uid 4102/);
      chownSync(home, VICTIM, VICTIM);
      // A link is followed to what it names, and that is what is checked.
      const link = join(root, 'link-to-inst');
      symlinkSync(inst, link);
      checkControlSocket(join(link, 'tendril.sock'), VICTIM);
      const plain = join(inst, 'not-a-socket');
      writeFileSync(plain, '');
      chownSync(plain, VICTIM, VICTIM);
      refused(() => checkControlSocket(plain, VICTIM), /is not a socket/);
    } finally {
      server.close();
    }
  });
});
