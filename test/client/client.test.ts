/**
 * The typed client (src/client/) against live nodes: every helper over TCP with Basic and with a
 * token, and over the control socket; list columns checked against the node's headers; uploads
 * from bytes and files with their progress; errors as ApiError; newsince iterators that follow
 * new rows and survive a restart of the node.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ACTIVITY_COLUMNS,
  BUNDLE_COLUMNS,
  CONVERSATION_COLUMNS,
  FEED_COLUMNS,
  FEED_MESSAGE_COLUMNS,
  IDENTITY_COLUMNS,
  isApiError,
  MESSAGE_COLUMNS,
  TOKEN_COLUMNS,
  type TendrilClient,
} from '../../src/client/index.js';
import { createNodeClient, createSocketClient, fileSource } from '../../src/client/node.js';
import { spawnNode } from '../helpers/child-node.js';
import { makeInstance, startTestNode, type TestNode } from '../helpers/node.js';

const HARRY = { user: 'harry', password: 'potter' };

/** The header of a list, as the node sends it. */
async function header(node: TestNode, path: string): Promise<string[]> {
  const reply = await node.request('GET', path);
  assert.equal(reply.status, 200, reply.text);
  return reply.json<{ header: string[] }>().header;
}

describe('typed client against a live node', () => {
  let node: TestNode;
  let tcp: TendrilClient;
  let socket: TendrilClient;
  before(async () => {
    node = await startTestNode();
    tcp = createNodeClient({ url: `http://127.0.0.1:${node.port}` }, { credentials: HARRY });
    socket = createSocketClient(node.paths.controlSocket);
  });
  after(async () => {
    tcp.close();
    socket.close();
    await node.destroy();
  });

  it('manages identities over TCP with Basic, and sees the same over the control socket', async () => {
    const added = await tcp.keyring.add({ did: '55501', name: 'Alice' });
    assert.match(added.sid, /^[0-9A-F]{64}$/);
    assert.equal(added.name, 'Alice');
    const listed = await socket.keyring.list();
    assert.ok(listed.some((i) => i.sid === added.sid && i.identity === added.identity && i.did === '55501'));
    const changed = await tcp.keyring.set(added.sid, { name: 'Alicia' });
    assert.equal(changed.name, 'Alicia');
    assert.equal((await tcp.keyring.get(added.sid)).name, 'Alicia');
    const locked = await tcp.keyring.add({ pin: '1234' });
    await tcp.keyring.lock(locked.sid);
    assert.ok(!(await tcp.keyring.list()).some((i) => i.sid === locked.sid));
    assert.ok((await tcp.keyring.list({ pin: '1234' })).some((i) => i.sid === locked.sid));
    const removed = await tcp.keyring.remove(locked.sid, { pin: '1234' });
    assert.equal(removed.sid, locked.sid);
  });

  it('names every column of every list as the node does', async () => {
    const me = await tcp.keyring.add();
    const other = await tcp.keyring.add();
    await tcp.meshms.send(me.sid, other.sid, 'hello');
    assert.deepEqual(await header(node, '/restful/keyring/identities.json'), [...IDENTITY_COLUMNS]);
    assert.deepEqual(await header(node, '/restful/rhizome/bundlelist.json'), [...BUNDLE_COLUMNS]);
    assert.deepEqual(await header(node, `/restful/meshms/${me.sid}/conversationlist.json`), [...CONVERSATION_COLUMNS]);
    assert.deepEqual(await header(node, `/restful/meshms/${me.sid}/${other.sid}/messagelist.json`), [...MESSAGE_COLUMNS]);
    assert.deepEqual(await header(node, `/restful/meshmb/${me.identity}/messagelist.json`), [...FEED_MESSAGE_COLUMNS]);
    assert.deepEqual(await header(node, `/restful/meshmb/${me.identity}/feedlist.json`), [...FEED_COLUMNS]);
    assert.deepEqual(await header(node, `/restful/meshmb/${me.identity}/activity.json`), [...ACTIVITY_COLUMNS]);
    const tokens = await socket.api.GET('/control/tokens');
    assert.deepEqual((tokens.data as unknown as { header: string[] }).header, [...TOKEN_COLUMNS]);
  });

  it('uploads bytes and files with progress, and reads manifests and payloads back', async () => {
    const bytes = randomBytes(300_000);
    const seen: number[] = [];
    let total = 0;
    const stored = await tcp.rhizome.insert({ payload: bytes, filename: 'blob.bin', onProgress: (sent, of) => (seen.push(sent), (total = of)) });
    assert.equal(stored.status, 201);
    assert.ok(stored.manifest && stored.bundle.id);
    assert.ok(total > bytes.length && seen.at(-1) === total, 'progress ends at the whole body');
    assert.ok(seen.length > 0 && seen.every((n, i) => i === 0 || n >= seen[i - 1]!), 'progress only grows');
    const raw = Buffer.from(await (await tcp.rhizome.payload(stored.bundle.id)).arrayBuffer());
    assert.ok(raw.equals(bytes));
    const part = await tcp.rhizome.payload(stored.bundle.id, { range: 'bytes=10-19' });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20)));

    const file = join(node.paths.root, 'upload.dat');
    writeFileSync(file, randomBytes(2_000_000));
    let last = 0;
    const fromFile = await socket.rhizome.insert({ payload: fileSource(file), filename: 'upload.dat', manifest: 'service=file\n', onProgress: (sent, total) => (last = sent / total) });
    assert.equal(fromFile.status, 201);
    assert.ok(last > 0.99, `progress reached ${last}`);
    const { manifest, bundle } = await tcp.rhizome.manifest(fromFile.bundle.id!);
    assert.ok(Buffer.from(manifest).equals(Buffer.from(fromFile.manifest!)));
    assert.equal(bundle.name, 'upload.dat');
    const list = await tcp.rhizome.list({ name: 'upload%' });
    assert.deepEqual(list.map((b) => b.id), [fromFile.bundle.id]);
    assert.equal(list[0]!.filesize, 2_000_000);
    rmSync(file);
  });

  it('answers failures with ApiError: status, reason, code and JSON result', async () => {
    const wrong = createNodeClient({ url: `http://127.0.0.1:${node.port}` }, { credentials: { user: 'harry', password: 'nope' } });
    await assert.rejects(wrong.keyring.list(), (err: unknown) => {
      assert.ok(isApiError(err));
      assert.equal(err.status, 401);
      assert.equal(err.code, 'ACCESS_UNAUTHORIZED');
      assert.equal(err.result?.http_status_code, 401);
      return true;
    });
    wrong.close();
    await assert.rejects(tcp.rhizome.manifest('00'.repeat(32)), (err: unknown) => isApiError(err) && err.status === 404);
    // Control routes exist only on the control socket.
    await assert.rejects(tcp.config.reload(), (err: unknown) => isApiError(err) && err.status === 404);
  });

  it('makes tokens over the control socket that work over TCP, until revoked', async () => {
    const made = await socket.tokens.generate({ name: 'client test', expires: '1d', readOnly: true });
    assert.match(made.token, /^tdk1_/);
    assert.equal(made.info.read_only, true);
    const viaToken = createNodeClient({ url: `http://127.0.0.1:${node.port}` }, { credentials: { token: made.token } });
    assert.ok(Array.isArray(await viaToken.keyring.list()));
    await assert.rejects(viaToken.keyring.add(), (err: unknown) => isApiError(err) && err.status === 403);
    // Users manage tokens, over TCP as over the socket; a token manages none.
    await assert.rejects(viaToken.tokens.list(), (err: unknown) => isApiError(err) && err.status === 403);
    assert.ok((await tcp.tokens.list()).some((t) => t.id === made.info.id && t.name === 'client test'));
    await socket.tokens.revoke(made.info.id);
    await assert.rejects(viaToken.keyring.list(), (err: unknown) => isApiError(err) && err.status === 401);
    viaToken.close();
  });

  it('reads status, health and conversations; follows MeshMS and MeshMB as they grow', async () => {
    const status = await tcp.system();
    assert.equal(status.node.version.length > 0, true);
    assert.equal(await tcp.healthy(), true);
    const me = await tcp.keyring.add();
    const them = await tcp.keyring.add();
    const stop = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const m of tcp.meshms.newsince(them.sid, me.sid, { signal: stop.signal })) {
        if (m.type === '<' && m.text !== null) seen.push(m.text);
        if (seen.length === 2) stop.abort();
      }
    })();
    await tcp.meshms.send(me.sid, them.sid, 'one');
    await tcp.meshms.send(me.sid, them.sid, 'two');
    await following;
    assert.deepEqual(seen.sort(), ['one', 'two']);
    const conversations = await tcp.meshms.conversations(them.sid);
    assert.equal(conversations[0]!.their_sid, me.sid);
    const list = await tcp.meshms.messages(me.sid, them.sid);
    assert.deepEqual(list.messages.filter((m) => m.type === '>').map((m) => m.text), ['two', 'one']);

    await tcp.meshmb.send(me.identity, 'broadcast');
    const feed = await tcp.meshmb.messages(me.identity);
    assert.deepEqual(feed.messages.map((m) => m.text), ['broadcast']);
    await tcp.meshmb.follow(them.identity, me.identity);
    assert.deepEqual((await tcp.meshmb.feeds(them.identity)).map((f) => f.id), [me.identity]);
    const activity = await tcp.meshmb.activity(them.identity);
    assert.deepEqual(activity.map((a) => a.message), ['broadcast']);
  });
});

describe('a newsince iterator', () => {
  it('survives a restart of its node, continuing from its token without repeating a row', async () => {
    const paths = makeInstance();
    let child = await spawnNode(paths);
    const port = child.port;
    const client = createNodeClient({ url: `http://127.0.0.1:${port}` }, { credentials: HARRY });
    const stop = new AbortController();
    const retries: unknown[] = [];
    const names: string[] = [];
    let restarted: () => void = () => undefined;
    const sawFirst = new Promise<void>((resolve) => (restarted = resolve));
    const iterating = (async () => {
      for await (const bundle of client.rhizome.newsince({ signal: stop.signal, maxRetryDelayMs: 500, onRetry: (e) => retries.push(e) })) {
        names.push(bundle.name ?? '');
        if (names.length === 1) restarted();
        if (names.length === 2) stop.abort();
      }
    })();
    try {
      await client.rhizome.insert({ payload: 'before', manifest: 'service=file\nname=before\n' });
      await sawFirst;
      await child.stop();
      child = await spawnNode(paths, { args: ['--port', String(port)] });
      assert.equal(child.port, port);
      const again = createNodeClient({ url: `http://127.0.0.1:${port}` }, { credentials: HARRY });
      await again.rhizome.insert({ payload: 'after', manifest: 'service=file\nname=after\n' });
      again.close();
      await iterating;
      assert.deepEqual(names, ['before', 'after']);
      assert.ok(retries.length > 0, 'the iterator retried while the node was down');
    } finally {
      stop.abort();
      client.close();
      await child.stop();
      rmSync(paths.root, { recursive: true, force: true });
    }
  });
});
