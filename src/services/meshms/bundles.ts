/**
 * MeshMS's use of the Rhizome store (spec §7.11.3, §7.12): finding the plys of an identity,
 * reading them decrypted, appending records to my ply, and reading and rewriting my private
 * conversation index. Everything goes through the RhizomeService, as a REST client's append or
 * insert would, so plys written here are ordinary signed journals that export and import anywhere.
 */
import { meshmsIndexSeedString, seededBundleKeyPair, type BundleKeyPair } from '../../crypto/bundle-keys.js';
import { toHex } from '../../formats/hex.js';
import type { Logger } from '../../log.js';
import type { Identity } from '../keyring/types.js';
import { readCurrent } from '../rhizome/read-current.js';
import { BundleStatus } from '../rhizome/status.js';
import type { BundleView, RhizomeReply, RhizomeService } from '../rhizome/types.js';
import type { PlyRef } from './conversation.js';
import { PlyCache } from './ply-cache.js';

export const MESHMS_SERVICE = 'MeshMS2';

/** A MeshMS2 bundle naming an identity as sender or recipient. */
export interface PlyRow extends PlyRef {
  readonly sender: Buffer;
  readonly recipient: Buffer;
}

/** Why a Rhizome write did not store a new bundle (logged; the operation then fails). */
export class BundleWriteError extends Error {
  constructor(
    message: string,
    readonly reply: RhizomeReply | undefined,
  ) {
    super(message);
    this.name = 'BundleWriteError';
  }
}

function refOf(view: BundleView): PlyRef {
  const m = view.manifest;
  return { bid: m.id!, version: m.version ?? 0n, size: Number(m.filesize ?? 0n) };
}

export class MeshmsBundles {
  private readonly cache: PlyCache;
  private readonly indexKeys = new Map<string, BundleKeyPair>();

  constructor(
    private readonly rhizome: RhizomeService,
    private readonly log: Logger,
    cacheBytes: number,
  ) {
    this.cache = new PlyCache(cacheBytes);
  }

  /** The plys `sid` sent or received, oldest first (sender=sid OR recipient=sid). */
  async plysOf(sid: Buffer): Promise<PlyRow[]> {
    const seen = new Map<number, PlyRow>();
    for (const filter of [{ sender: sid }, { recipient: sid }]) {
      for await (const batch of this.rhizome.listSince({ service: MESHMS_SERVICE, ...filter }, 0)) {
        for (const { bundle: b } of batch) {
          if (!b.sender || !b.recipient) continue;
          seen.set(b.rowid, { bid: b.bid, version: b.version, size: Number(b.filesize), sender: b.sender, recipient: b.recipient });
        }
      }
    }
    return [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, row]) => row);
  }

  /** A ply's decrypted payload, as stored now (undefined if it has left the store). */
  async readPly(ply: PlyRef): Promise<Buffer | undefined> {
    const cached = this.cache.get(ply.bid, ply.version);
    if (cached) return cached;
    const found = await readCurrent(this.rhizome, ply.bid);
    if (!found) return undefined;
    if (found.bytes === undefined) {
      throw new BundleWriteError(`cannot read bundle ${toHex(ply.bid)}: ${found.reply.outcome.reason ?? 'no payload'}`, found.reply);
    }
    this.cache.set(ply.bid, found.view.manifest.version ?? 0n, found.bytes);
    return found.bytes;
  }

  /**
   * Appends `records` to my ply with `them`, creating the ply (random BID, BK from my Rhizome
   * Secret, crypt=1) when there is none. Returns the ply as now stored.
   */
  async appendPly(me: Identity, them: Buffer, ply: PlyRef | undefined, records: Buffer): Promise<PlyRef> {
    const session = this.rhizome.beginAdd(true);
    try {
      let manifest = '';
      if (ply) {
        session.setBundleId(ply.bid);
      } else {
        session.setAuthor(me.sid);
        manifest = `service=${MESHMS_SERVICE}\nsender=${me.sidHex}\nrecipient=${toHex(them)}\ncrypt=1\n`;
      }
      const early = (await session.setManifest(Buffer.from(manifest, 'utf8'))) ?? (await session.openPayload(undefined));
      if (early) throw new BundleWriteError('ply append refused', early);
      await session.writePayload(records);
      const reply = await session.finish();
      if (reply.outcome.bundle !== BundleStatus.NEW || !reply.bundle) throw new BundleWriteError('ply append not stored', reply);
      const stored = refOf(reply.bundle);
      // What was cached plus what was just appended is the new payload: no need to read it back.
      const before = ply && this.cache.get(ply.bid, ply.version);
      if (before && before.length + records.length === stored.size) {
        this.cache.set(stored.bid, stored.version, Buffer.concat([before, records]));
      }
      return stored;
    } finally {
      await session.abort();
    }
  }

  /** The deterministic key pair of my conversation index (spec §7.12). */
  indexKeyPair(me: Identity): BundleKeyPair {
    let pair = this.indexKeys.get(me.sidHex);
    if (!pair) {
      pair = seededBundleKeyPair(meshmsIndexSeedString(me.boxSecret));
      this.indexKeys.set(me.sidHex, pair);
    }
    return pair;
  }

  /** My conversation index: its stored version and decrypted payload, or nothing yet. */
  async readIndex(me: Identity): Promise<{ version: bigint; payload: Buffer } | undefined> {
    const pair = this.indexKeyPair(me);
    const found = await this.rhizome.manifest(pair.bid);
    if (!found.bundle) return undefined;
    const version = found.bundle.manifest.version ?? 0n;
    const cached = this.cache.get(pair.bid, version);
    if (cached) return { version, payload: cached };
    // Its key comes from the bundle secret, which only the seed string gives (no author, no BK).
    let read: Awaited<ReturnType<typeof readCurrent>>;
    let err: unknown;
    try {
      read = await readCurrent(this.rhizome, pair.bid, { secret: pair.secret });
    } catch (caught) {
      err = caught;
    }
    if (read?.bytes === undefined) {
      // An unreadable index is no index, as in the reference: the plys rebuild it.
      this.log.warn({ err, reason: read?.reply.outcome.reason }, 'MeshMS conversation index unreadable; rebuilding it');
      this.cache.set(pair.bid, version, Buffer.alloc(0));
      return { version, payload: Buffer.alloc(0) };
    }
    const stored = read.view.manifest.version ?? 0n;
    this.cache.set(pair.bid, stored, read.bytes);
    return { version: stored, payload: read.bytes };
  }

  /**
   * Stores a new version of my conversation index (version + 1; a new one starts at now + 1, as
   * the reference's does). Returns the version stored.
   */
  async writeIndex(me: Identity, payload: Buffer, previous: bigint | undefined, nowMs: number): Promise<bigint> {
    const pair = this.indexKeyPair(me);
    const version = previous === undefined ? BigInt(nowMs) + 1n : previous + 1n;
    const session = this.rhizome.beginAdd(false);
    try {
      session.setSecret(pair.secret);
      if (previous !== undefined) session.setBundleId(pair.bid);
      const text = `service=private\ncrypt=1\nversion=${version}\n${previous === undefined ? `date=${nowMs}\n` : ''}`;
      const early = (await session.setManifest(Buffer.from(text, 'utf8'))) ?? (await session.openPayload(undefined));
      if (early) throw new BundleWriteError('conversation index refused', early);
      await session.writePayload(payload);
      const reply = await session.finish();
      if (reply.outcome.bundle !== BundleStatus.NEW) throw new BundleWriteError('conversation index not stored', reply);
      this.cache.set(pair.bid, version, payload);
      return version;
    } finally {
      await session.abort();
    }
  }
}
