/**
 * A lying peer stores nothing: a peer (here, this test process speaking the protocol itself, with
 * a valid token) that offers forged manifests, sends payload bytes that do not match, sends more
 * bytes than were asked for, or sends garbage frames, gets its link closed or its bundles refused;
 * nothing of what it sent is stored, what was stored before is untouched, and the node goes on.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { randomBundleKeyPair, signManifest } from '../../src/crypto/bundle-keys.js';
import { Frame, FrameReader, FrameType, encodeFrame } from '../../src/services/sync/wire/frames.js';
import { decodeRequest, encodeJson, encodeOffer, encodeId } from '../../src/services/sync/wire/messages.js';
import { insert } from '../helpers/rhizome.js';
import { bundleVersions, eventually, startSyncNode, type SyncNode } from '../helpers/sync.js';

/** A signed bundle made here: its manifest, and the payload it promises. */
function forge(payload: Buffer, tamper = false): { id: string; manifest: Buffer; payload: Buffer } {
  const keys = randomBundleKeyPair();
  const hash = createHash('sha512').update(payload).digest('hex').toUpperCase();
  const text = `id=${keys.bid.toString('hex').toUpperCase()}\nversion=${Date.now()}\nfilesize=${payload.length}\nfilehash=${hash}\nservice=file\nname=forged\n`;
  const manifest = signManifest(Buffer.from(text, 'latin1'), keys.secretKey);
  if (tamper) manifest[manifest.length - 40]! ^= 0xff; // inside the signature
  return { id: keys.bid.toString('hex').toUpperCase(), manifest, payload };
}

/** This process as a sync peer: it says HELLO and then whatever the test makes it say. */
class FakePeer {
  readonly frames: Frame[] = [];
  readonly #req: ClientRequest;
  #closed = false;
  readonly ended: Promise<void>;
  #waiters: Array<() => void> = [];

  constructor(url: string, token: string, hello = true) {
    const u = new URL(url);
    this.#req = request({
      host: u.hostname,
      port: u.port,
      path: '/sync/v1/link',
      method: 'POST',
      headers: { 'Content-Type': 'application/x-tendril-sync', 'Transfer-Encoding': 'chunked', Authorization: `Bearer ${token}` },
      agent: false,
    });
    this.#req.on('error', () => undefined);
    this.ended = new Promise((resolve) => {
      this.#req.on('response', (res: IncomingMessage) => {
        const reader = new FrameReader();
        res.on('data', (chunk: Buffer) => {
          for (const f of reader.push(chunk)) this.frames.push(new Frame(f.type, [Buffer.from(f.body)]));
          for (const w of this.#waiters.splice(0)) w();
        });
        res.on('error', () => undefined);
        res.on('close', () => {
          this.#closed = true;
          for (const w of this.#waiters.splice(0)) w();
          resolve();
        });
      });
      this.#req.on('close', () => resolve());
    });
    if (hello) this.send(FrameType.HELLO, encodeJson({ protocol: 'tendril-sync', version: [1, 0], node: randomBytes(16).toString('hex'), accepts: true, identities: [], routes: [] }));
  }

  send(type: number, body: Buffer = Buffer.alloc(0)): void {
    this.#req.write(encodeFrame(type, body));
  }

  raw(bytes: Buffer): void {
    this.#req.write(bytes);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The first frame of `type` from the node (waiting for it). */
  async next(type: number, ms = 10_000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.#closed || Date.now() > deadline) throw new Error(`no frame ${type}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  close(): void {
    this.#req.destroy();
  }
}

async function rejected(node: SyncNode): Promise<number> {
  return (await node.request('GET', '/restful/system')).json<{ node: { sync: { rejected: number } } }>().node.sync.rejected;
}

void describe('Tendril sync: a lying peer stores nothing', () => {
  let b: SyncNode;
  let token: string;
  let before0: Map<string, number>;

  before(async () => {
    b = await startSyncNode('b');
    token = await b.token();
    assert.equal((await insert(b.api, { manifest: 'service=file\nname=kept\n', payload: randomBytes(3000) })).status, 201);
    before0 = await bundleVersions(b);
  });
  after(async () => {
    await b?.destroy();
  });

  void it('refuses a forged manifest before asking for a byte of it', async () => {
    const peer = new FakePeer(b.meshUrl, token);
    await peer.next(FrameType.HELLO);
    const forged = forge(randomBytes(4000), true);
    peer.send(FrameType.OFFER, encodeOffer(forged.manifest));
    await eventually('refused', async () => ((await rejected(b)) >= 1 ? true : undefined), 10_000);
    assert.equal(peer.frames.some((f) => f.type === FrameType.REQUEST), false);
    assert.equal((await bundleVersions(b)).has(forged.id), false);
    peer.close();
  });

  void it('refuses a payload that does not match its manifest, and one cut short', async () => {
    const peer = new FakePeer(b.meshUrl, token);
    await peer.next(FrameType.HELLO);
    const lie = forge(randomBytes(5000));
    peer.send(FrameType.OFFER, encodeOffer(lie.manifest));
    const req = decodeRequest((await peer.next(FrameType.REQUEST)).body);
    assert.equal(req.length, 5000);
    const wrong = randomBytes(5000);
    peer.send(FrameType.DATA, Buffer.concat([encodeId(req.id), wrong]));
    // Declared 3 MiB, sends a little and hangs up.
    const short = forge(randomBytes(3 * 1024 * 1024));
    peer.send(FrameType.OFFER, encodeOffer(short.manifest));
    const req2 = decodeRequest((await peer.next(FrameType.REQUEST)).body);
    peer.send(FrameType.DATA, Buffer.concat([encodeId(req2.id), short.payload.subarray(0, 1000)]));
    await eventually('refused', async () => ((await rejected(b)) >= 2 ? true : undefined), 10_000);
    peer.close();
    await new Promise((r) => setTimeout(r, 300));
    const held = await bundleVersions(b);
    assert.equal(held.has(lie.id) || held.has(short.id), false);
  });

  void it('closes the link on more bytes than asked for, on a malformed frame, and on an enormous one', async () => {
    const bundle = forge(randomBytes(2000));
    const over = new FakePeer(b.meshUrl, token);
    await over.next(FrameType.HELLO);
    over.send(FrameType.OFFER, encodeOffer(bundle.manifest));
    const req = decodeRequest((await over.next(FrameType.REQUEST)).body);
    over.send(FrameType.DATA, Buffer.concat([encodeId(req.id), bundle.payload, randomBytes(10)]));
    await over.ended;
    assert.ok(over.closed);

    for (const garbage of [Buffer.from([0, 0, 0, 0, 7]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x31]), encodeFrame(FrameType.RECON, Buffer.from([0, 99, 1]))]) {
      const peer = new FakePeer(b.meshUrl, token);
      await peer.next(FrameType.HELLO);
      peer.raw(garbage);
      const bye = await peer.next(FrameType.BYE);
      assert.match(bye.body.toString(), /protocol/);
      await peer.ended;
    }
    // A frame before HELLO that is not one.
    const rude = new FakePeer(b.meshUrl, token, false);
    rude.send(FrameType.OFFER, encodeOffer(bundle.manifest));
    await rude.ended;
    assert.equal((await bundleVersions(b)).has(bundle.id), false);
  });

  void it('keeps what it held and goes on serving', async () => {
    const held = await bundleVersions(b);
    for (const [id, version] of before0) assert.equal(held.get(id), version);
    assert.equal(held.size, before0.size);
    assert.equal((await b.request('GET', '/restful/rhizome/bundlelist.json')).status, 200);
    const peers = await b.peers();
    assert.ok(peers.every((p) => p.direction === 'incoming'));
  });
});
