/**
 * The command line as a new user found it (issue 12): each finding of that list, reproduced as it
 * was found, now answered as it should be. Every test here failed before its fix.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { InstancePaths } from '../../src/node/instance.js';
import { spawnNode, watchChild } from '../helpers/child-node.js';
import { cliArgs, cliEnv, cliInstances, cliOk, occupyPort, parseIdentityLines, randomBusyablePort, REPO_ROOT, runCli } from '../helpers/cli.js';
import { HARRY, request } from '../helpers/node.js';

const instances = cliInstances();
const instance = (entries: Record<string, string> = {}): InstancePaths => instances.make(entries);
after(() => instances.cleanUp());

const LIST = '/restful/keyring/identities.json';
/** No stack trace: no "    at " frame line, no "Error:" prefix of a thrown error. */
const STACK = /^\s+at |\bError: write EPIPE/m;

describe('CLI findings', { concurrency: 4 }, () => {
  it('config set returns once the running node applied it: the very next request sees the new user', async () => {
    const p = instance();
    const node = await spawnNode(p);
    instances.track(() => node.stop());
    const neville = 'Basic ' + Buffer.from('neville:longbottom').toString('base64');
    assert.equal((await request(node.port, 'GET', LIST, { auth: neville })).status, 401);
    await cliOk(p.root, ['config', 'set', 'api.restful.users.neville.password'], { env: { TENDRIL_PASSWORD: 'longbottom' } });
    assert.equal((await request(node.port, 'GET', LIST, { auth: neville })).status, 200, 'no wait, no retry');
    await cliOk(p.root, ['config', 'del', 'api.restful.users.neville.password']);
    assert.equal((await request(node.port, 'GET', LIST, { auth: neville })).status, 401, 'del applies at once too');
  });

  it('output cut off by its reader (EPIPE) ends quietly: status, rhizome list, config list --all, web openapi', async () => {
    const p = instance();
    for (const args of [['status'], ['rhizome', 'list'], ['config', 'list', '--all'], ['web', 'openapi']]) {
      // The reader closes its end before the CLI writes anything, as `| head -0` would.
      const child = spawn(process.execPath, cliArgs(p.root, args), { cwd: REPO_ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      assert.doesNotMatch(stderr, STACK, `${args.join(' ')}: ${stderr}`);
      assert.doesNotMatch(stderr, /EPIPE/, args.join(' '));
      assert.equal(code, args[0] === 'status' ? 3 : 0, `${args.join(' ')} exits as it would have: ${stderr}`);
    }
  });

  it('start --port N with N busy is an error naming the port, not a silent move to N+1', async () => {
    const port = await randomBusyablePort();
    const busy = await occupyPort(port);
    assert.ok(busy);
    try {
      const p = instance();
      const foreground = await runCli(p.root, ['start', '--port', String(port)]);
      assert.equal(foreground.code, 1, foreground.stdout);
      assert.match(foreground.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      const detached = await runCli(p.root, ['start', '--detach', '--port', String(port)]);
      assert.equal(detached.code, 1);
      assert.match(detached.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`), 'the reason, from the log');
      assert.equal(existsSync(p.pidFile), false, 'nothing left running');
      // The configured default still searches upwards, as the reference's does.
      const q = instance({ 'rhizome.http.port': String(port) });
      const searched = await runCli(q.root, ['start', '--detach']);
      assert.equal(searched.code, 0, searched.stderr);
      assert.match(searched.stdout, new RegExp(`REST API: {2}http://127\\.0\\.0\\.1:${port + 1}/restful/`));
      await cliOk(q.root, ['stop']);
    } finally {
      busy.close();
    }
  });

  it('config set web.commands refuses an impossible server; start --detach says why a start failed', async () => {
    const p = instance();
    const before = readFileSync(p.configFile);
    for (const [spec, why] of [
      ['web server --mode=upstream --bind=0.0.0.0 --port=4400', /upstream mode can only bind to a loopback address/],
      ['web server --mode=server --port=4400 --certfile=/nonexistent.pem --keyfile=/nonexistent.key', /cannot read --certfile \/nonexistent\.pem: no such file/],
    ] as const) {
      const r = await runCli(p.root, ['config', 'set', 'web.commands', spec]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^tendril: Invalid configuration value: web\.commands: web server: /);
      assert.match(r.stderr, why);
    }
    assert.deepEqual(readFileSync(p.configFile), before, 'the file is unchanged');
    // Written by hand, behind the CLI's back: the start refuses it with the reason, not "see the log".
    writeFileSync(p.configFile, `${before.toString()}web.commands=web server --mode=dev --bind=10.1.2.3\n`);
    const start = await runCli(p.root, ['start', '--detach']);
    assert.equal(start.code, 1);
    assert.match(start.stderr, /dev mode can only bind to a loopback address/);
    assert.equal(existsSync(p.pidFile), false);
  });

  it('web server --help and -h print its options', async () => {
    const p = instance();
    for (const flag of ['--help', '-h']) {
      const r = await runCli(p.root, ['web', 'server', flag]);
      assert.equal(r.code, 0, r.stderr);
      for (const option of ['--mode', '--bind', '--port', '--certfile', '--keyfile', '--clientca', '--allowed-origin']) {
        assert.match(r.stdout, new RegExp(`^\\s+${option} `, 'm'), `${flag} lists ${option}`);
      }
    }
  });

  it('generate-token --expires needs a unit: a bare number and "tomorrow" are refused with the format', async () => {
    const p = instance();
    for (const value of ['90', 'tomorrow']) {
      const r = await runCli(p.root, ['web', 'generate-token', '--expires', value]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '', 'no token made');
      assert.match(r.stderr, new RegExp(`--expires ${value}: expected a number and a unit \\(s, m, h, d, w\\), e\\.g\\. 30m, 12h, 90d, 2w`));
    }
    assert.match(r90(await runCli(p.root, ['web', 'generate-token', '--expires', '90d'])), /expires \d{4}-/);
    const list = await cliOk(p.root, ['web', 'list-tokens', '--json']);
    const [token] = JSON.parse(list) as Array<{ expires_at: number }>;
    assert.ok(Math.abs(token!.expires_at - (Date.now() + 90 * 86_400_000)) < 120_000, '90d is 90 days');
  });

  it('MeshMB given a SID says it is a SID and which Signing ID to give', async () => {
    const p = instance();
    const [alice] = parseIdentityLines(await cliOk(p.root, ['keyring', 'add', '--name', 'Alice']));
    const [sid, signing] = [alice![0]!, alice![1]!];
    const r = await runCli(p.root, ['meshmb', 'send', sid, 'hello']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `tendril: Identity locked (HTTP 419): ${sid} is the SID of an identity; MeshMB takes its Signing ID, ${signing} (the identity column of keyring list)\n`,
    );
    const unknown = await runCli(p.root, ['meshmb', 'feeds', 'AB'.repeat(32)]);
    assert.match(unknown.stderr, /no unlocked identity has the Signing ID (AB){32} /);
    await cliOk(p.root, ['meshmb', 'send', signing, 'hello']);
  });

  it('a forgotten --instance does not create a new empty instance: the command is refused, start says it creates one', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tendril-home-'));
    try {
      const env = { HOME: home };
      const missing = join(home, '.tendril');
      const spawnIn = (args: string[]) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          // No --instance and no TENDRIL_INSTANCE_PATH: the default, ~/.tendril.
          const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { cwd: REPO_ROOT, env: cliEnv(env) });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.on('close', (code) => resolve({ code, stdout, stderr }));
        });
      for (const args of [['keyring', 'list'], ['rhizome', 'list'], ['config', 'list'], ['web', 'list-tokens']]) {
        const r = await spawnIn(args);
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(r.stderr, `tendril: no Tendril instance at ${missing}: give --instance DIR or set TENDRIL_INSTANCE_PATH, or create one there with \`tendril start\`\n`);
        assert.equal(existsSync(missing), false, `${args.join(' ')} created nothing`);
      }
      const status = await spawnIn(['status']);
      assert.equal(status.code, 3);
      assert.match(status.stdout, new RegExp(`^instance: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(does not exist\\)$`, 'm'));
      // The quick start: the first start creates the instance, and says where.
      const start = await spawnIn(['start', '--detach', '--port', '0']);
      assert.equal(start.code, 0, start.stderr);
      assert.equal(start.stderr, `tendril: creating a new instance in ${missing}\n`);
      assert.ok(existsSync(join(missing, 'tendril.pid')));
      const stop = await spawnIn(['stop']);
      assert.equal(stop.code, 0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('status shows uptime, the web servers with their modes (dedicated ones too) and the log file', async () => {
    const p = instance();
    const [a, b] = [await randomBusyablePort(), await randomBusyablePort()];
    const start = await runCli(p.root, ['start', '--detach', '--commands', `web server --mode=upstream --port=${a}; web server --mode=dev --port=${b}`]);
    assert.equal(start.code, 0, start.stderr);
    const dedicatedPort = await randomBusyablePort();
    const web = spawn(process.execPath, cliArgs(p.root, ['web', 'server', '--mode=dev', `--port=${dedicatedPort}`]), { cwd: REPO_ROOT, env: cliEnv(), stdio: 'ignore' });
    const watched = watchChild(web);
    try {
      let forwarded = 0;
      for (let i = 0; i < 200 && forwarded !== 200; i++) {
        forwarded = await request(dedicatedPort, 'GET', LIST, { auth: null }).then((r) => r.status, () => 0);
        if (forwarded !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(forwarded, 200, 'the dedicated server forwards');
      const status = await runCli(p.root, ['status']);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^uptime: (\d+[dhm] )*\d+[dhms]$/m);
      assert.match(status.stdout, new RegExp(`^web server: upstream http://127\\.0\\.0\\.1:${a} \\(embedded; serves api,metrics\\)$`, 'm'));
      assert.match(status.stdout, new RegExp(`^web server: dev http://127\\.0\\.0\\.1:${b} \\(embedded; serves api,metrics\\)$`, 'm'));
      assert.match(status.stdout, new RegExp(`^web server: dev http://127\\.0\\.0\\.1:${dedicatedPort} \\(dedicated; serves api,metrics\\)$`, 'm'));
      assert.match(status.stdout, new RegExp(`^log: ${p.logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      const json = JSON.parse(await cliOk(p.root, ['status', '--json'])) as { status: string; log: string; uptime_seconds: number; web_servers: unknown[] };
      assert.equal(json.status, 'running');
      assert.equal(json.log, p.logFile);
      assert.equal(json.web_servers.length, 3);
    } finally {
      await watched.stop();
      await cliOk(p.root, ['stop']);
    }
  });

  it('a dedicated web server whose node is down answers 503 JSON with one log line each, no stack trace, and stops cleanly on SIGINT', async () => {
    const p = instance();
    const port = await randomBusyablePort();
    const web = spawn(process.execPath, cliArgs(p.root, ['web', 'server', '--mode=upstream', `--port=${port}`]), { cwd: REPO_ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const watched = watchChild(web);
    let out = '';
    web.stdout.on('data', (c: Buffer) => (out += c.toString()));
    web.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      for (let i = 0; i < 200 && !/web server started/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 3; i++) {
        const r = await request(port, 'GET', LIST, { auth: HARRY });
        assert.equal(r.status, 503);
        assert.equal(r.json<{ http_status_message: string }>().http_status_message, 'The node is not running');
      }
      web.kill('SIGINT');
      const code = await watched.exited;
      assert.equal(code, 0, out);
      assert.doesNotMatch(out, /"stack"|^\s+at /m, 'no stack trace');
      const lines = out.split('\n').filter((l) => l.startsWith('{'));
      assert.equal(lines.filter((l) => l.includes('node not reachable')).length, 3, 'one line per request');
      assert.equal(lines.filter((l) => /"level":50/.test(l)).length, 0, 'nothing at error level');
      assert.match(lines.at(-1)!, /"signal":"SIGINT".*"msg":"web server stopped"/);
    } finally {
      await watched.stop();
    }
  });
});

/** The stderr of a generate-token run (where its expiry is said). */
function r90(r: { code: number | null; stderr: string }): string {
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}
