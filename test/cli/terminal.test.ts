/**
 * The CLI at a person's terminal (a real pseudo-terminal): Ctrl-C during an upload cancels it,
 * restores the cursor and line wrapping, stores nothing and exits 130; logs are readable there;
 * names and texts from others cannot drive the terminal (control characters escaped, --json too);
 * secrets are asked for without echo, and taken from files and the environment.
 */
import assert from 'node:assert/strict';
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { InstancePaths } from '../../src/node/instance.js';
import { spawnNode } from '../helpers/child-node.js';
import { cliInstances, cliOk, parseIdentityLines, runCli } from '../helpers/cli.js';
import { request } from '../helpers/node.js';
import { cliInTerminal } from '../helpers/terminal.js';

const instances = cliInstances();
const instance = (entries: Record<string, string> = {}): InstancePaths => instances.make(entries);
after(() => instances.cleanUp());

const ESC = '\x1b';
/** Escape sequences a hostile name might carry: window title, clipboard (OSC 52), cursor, CSI in C1. */
const HOSTILE = `evil${ESC}]0;owned${ESC}\\${ESC}]52;c;cm0gLXJmIH4=${ESC}\\${ESC}[2J\u009b31m\u202e`;

/** True when `value` holds the string `text` somewhere. */
function holds(value: unknown, text: string): boolean {
  if (value === text) return true;
  return value !== null && typeof value === 'object' && Object.values(value).some((v) => holds(v, text));
}

describe('the CLI at a terminal', { concurrency: 3 }, () => {
  it('Ctrl-C during rhizome add cancels the upload, restores the terminal, stores nothing and exits 130', async () => {
    const p = instance();
    const node = await spawnNode(p);
    instances.track(() => node.stop());
    const file = join(p.root, 'big.bin');
    writeFileSync(file, '');
    truncateSync(file, 64 * 1024 * 1024); // sparse: big enough to be mid-upload, cheap to make
    // A node that has stopped reading keeps the upload in flight for as long as the test needs.
    process.kill(node.pid, 'SIGSTOP');
    const term = cliInTerminal(p.root, ['rhizome', 'add', file]);
    try {
      await term.waitFor(/uploading \[/);
      term.type('\x03');
      const code = await term.exited;
      const shown = term.output();
      assert.equal(code, 130, JSON.stringify(shown));
      assert.match(shown, /interrupted/);
      const hid = shown.lastIndexOf(`${ESC}[?25l`);
      assert.ok(hid !== -1, 'the progress bar hid the cursor');
      assert.ok(shown.lastIndexOf(`${ESC}[?25h`) > hid, 'and it is shown again');
      assert.ok(shown.lastIndexOf(`${ESC}[?7h`) > shown.lastIndexOf(`${ESC}[?7l`), 'line wrapping is back on');
    } finally {
      process.kill(node.pid, 'SIGCONT');
      await term.stop();
    }
    assert.equal((await cliOk(p.root, ['rhizome', 'list'])).split('\n').filter(Boolean).length, 1, 'only the header: nothing stored');
    // The node let go of the abandoned upload: nothing stays in its temporary directory.
    // (Up to 30 s: a node just woken on a busy machine takes its time to see the upload go.)
    let leftovers: string[] = [];
    for (let i = 0; i < 600; i++) {
      leftovers = readdirSync(join(p.storeDir, 'tmp'));
      if (leftovers.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(leftovers, []);
  });

  it('a node in the foreground logs readable lines to its terminal; tendril logs shows the file readable there and JSON elsewhere; -f follows', async () => {
    const p = instance();
    const term = cliInTerminal(p.root, ['start', '--port', '0']);
    try {
      await term.waitFor(/INFO[^\n]{0,20}node started/);
      assert.doesNotMatch(term.output(), /\{"level":/, 'no JSON on a terminal');
      assert.match(term.output(), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/, 'local times, not epoch milliseconds');
      term.type('\x03');
      assert.equal(await term.exited, 0, 'Ctrl-C stops a foreground node cleanly');
      assert.match(term.output(), /stopped/);
    } finally {
      await term.stop();
    }
    // A detached node logs JSON lines to its file; `logs` prints them as they are to a pipe.
    assert.equal((await runCli(p.root, ['start', '--detach', '--port', '0'])).code, 0);
    try {
      const port = Number((await cliOk(p.root, ['status', '--json'], {})).match(/127\.0\.0\.1:(\d+)/)![1]);
      const piped = await cliOk(p.root, ['logs']);
      assert.ok(piped.split('\n').filter(Boolean).every((l) => l.startsWith('{')), 'JSON lines into a pipe');
      assert.match(piped, /"msg":"node started"/);
      assert.equal((await cliOk(p.root, ['logs', '-n', '1'])).split('\n').filter(Boolean).length, 1);
      const follow = cliInTerminal(p.root, ['logs', '-f']);
      try {
        await follow.waitFor(/INFO[^\n]{0,20}node started/);
        await request(port, 'GET', `/restful/keyring/identities.json?name=${encodeURIComponent(HOSTILE)}`);
        await follow.waitFor(/request completed.*status\S*=\S*200/);
        const line = follow.output().split('\n').find((l) => l.includes('request completed'))!;
        assert.ok(!line.includes(`${ESC}]0;`) && !line.includes('\u009b'), 'a logged URL cannot drive the terminal');
        follow.type('\x03');
        assert.equal(await follow.exited, 130);
      } finally {
        await follow.stop();
      }
    } finally {
      await cliOk(p.root, ['stop']);
    }
  });

  it('names and message texts carrying escape sequences are printed escaped; --json escapes them as JSON', async () => {
    const p = instance();
    const [me] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--name', 'Me']));
    const [them] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--name', 'Them']));
    const file = join(p.root, 'note.txt');
    writeFileSync(file, 'x');
    await cliOk(p.root, ['rhizome', 'add', file, '--name', HOSTILE]);
    await cliOk(p.root, ['meshms', 'send', them![0]!, me![0]!, HOSTILE]);
    await cliOk(p.root, ['meshmb', 'send', them![1]!, HOSTILE]);
    const outputs = {
      'rhizome list': await cliOk(p.root, ['rhizome', 'list']),
      'meshms list': await cliOk(p.root, ['meshms', 'list', me![0]!, them![0]!]),
      'meshmb list': await cliOk(p.root, ['meshmb', 'list', them![1]!]),
    };
    // eslint-disable-next-line no-control-regex -- looking for exactly these
    const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/;
    for (const [what, text] of Object.entries(outputs)) {
      assert.doesNotMatch(text, RAW, `${what} prints no raw control character`);
      assert.ok(text.includes('evil\\x1b]0;owned\\x1b\\\\x1b]52;c;cm0gLXJmIH4=\\x1b\\\\x1b[2J\\x9b31m\\u202e'), `${what} shows them escaped: ${text}`);
    }
    for (const args of [['rhizome', 'list', '--json'], ['meshms', 'list', me![0]!, them![0]!, '--json'], ['meshmb', 'list', them![1]!, '--json']]) {
      const text = await cliOk(p.root, args);
      assert.doesNotMatch(text, RAW, `${args.join(' ')}: no raw control character`);
      assert.ok(text.includes('\\u001b]0;owned') && text.includes('\\u009b31m') && text.includes('\\u202e'), text);
      assert.ok(holds(JSON.parse(text), HOSTILE), 'and the JSON still says exactly what was sent');
    }
  });

  it('secrets: config set asks for a password without echo; files and the environment serve every secret option; argv forms warn', async () => {
    const p = instance();
    const term = cliInTerminal(p.root, ['config', 'set', 'api.restful.users.luna.password']);
    try {
      await term.waitFor(/password: $/);
      term.type('lovegood\r');
      await term.waitFor(/again: $/);
      term.type('lovegood\r');
      assert.equal(await term.exited, 0, term.output());
      assert.doesNotMatch(term.output(), /lovegood/, 'not echoed');
    } finally {
      await term.stop();
    }
    assert.match(await cliOk(p.root, ['config', 'get', 'api.restful.users.luna.password']), /^lovegood$/m);
    const pinFile = join(p.root, 'pins');
    writeFileSync(pinFile, '4321\n', { mode: 0o600 });
    const [sealed] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--name', 'Sealed', '--pin-file', pinFile]));
    assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list'])), [], 'protected by the PIN of the file');
    assert.deepEqual(parseIdentityLines(await cliOk(p.root, ['keyring', 'list'], { env: { TENDRIL_PIN: '4321' } })), [sealed]);
    const asked = cliInTerminal(p.root, ['keyring', 'list', '--ask-pin']);
    try {
      await asked.waitFor(/PIN: $/);
      asked.type('4321\r');
      assert.equal(await asked.exited, 0);
      assert.match(asked.output(), new RegExp(sealed![0]!));
      assert.doesNotMatch(asked.output(), /4321/, 'not echoed');
    } finally {
      await asked.stop();
    }
    const argv = await runCli(p.root, ['keyring', 'list', '--pin', '4321']);
    assert.match(argv.stderr, /^tendril: warning: --pin on the command line is visible to other local users \(ps\)/);
    const password = await runCli(p.root, ['config', 'set', 'api.restful.users.ginny.password', 'weasley']);
    assert.equal(password.code, 0);
    assert.match(password.stderr, /warning: a password on the command line is visible/);
    const fromFile = join(p.root, 'password');
    writeFileSync(fromFile, 'weasley2\n', { mode: 0o600 });
    const quiet = await runCli(p.root, ['config', 'set', 'api.restful.users.ginny.password', '--password-file', fromFile]);
    assert.deepEqual([quiet.code, quiet.stderr], [0, '']);
    assert.match(await cliOk(p.root, ['config', 'get', 'api.restful.users.ginny.password']), /^weasley2$/m);
    const noWay = await runCli(p.root, ['config', 'set', 'api.restful.users.ginny.password']);
    assert.equal(noWay.code, 1);
    assert.match(noWay.stderr, /give the password with --password-file FILE, TENDRIL_PASSWORD, or on a terminal/);
  });
});
