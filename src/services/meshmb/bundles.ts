/**
 * MeshMB's bundles, read and written through the Rhizome service exactly as REST clients would:
 * feeds (spec §5.1) and the two private bundles of each identity (spec §7.13). Writes go through
 * an AddSession, so they are stored, signed and announced like any `append` or `insert`.
 */
import type { BundleKeyPair } from '../../crypto/bundle-keys.js';
import { fail } from '../../errors.js';
import { Manifest, serializeManifestText } from '../../formats/manifest.js';
import { readCurrent } from '../rhizome/read-current.js';
import { BundleStatus, PayloadStatus, type RhizomeOutcome } from '../rhizome/status.js';
import type { AddSession, BundleView, RhizomeReply, RhizomeService } from '../rhizome/types.js';

export const FEED_SERVICE = 'MeshMB1';
const PRIVATE_SERVICE = 'private';

/** A feed as read from the store. */
export interface StoredFeed {
  readonly bytes: Buffer;
  /** The verified author, else the manifest's sender, else 32 zero bytes. */
  readonly author: Buffer;
  /** The manifest's name when not empty. */
  readonly name: Buffer | undefined;
}

export async function readFeed(rhizome: RhizomeService, bid: Buffer): Promise<StoredFeed | undefined> {
  const found = await readCurrent(rhizome, bid, { accept: (view) => view.manifest.service === FEED_SERVICE });
  if (!found?.bytes) return undefined;
  const m = found.view.manifest;
  const name = m.get('name');
  return {
    bytes: found.bytes,
    author: found.view.author ?? m.sender ?? Buffer.alloc(32),
    name: name && name.length > 0 ? name : undefined,
  };
}

/**
 * A private bundle's version and decrypted payload (undefined if the store lost it), or undefined
 * if there is none yet.
 */
export async function readPrivate(
  rhizome: RhizomeService,
  keys: BundleKeyPair,
): Promise<{ bytes: Buffer | undefined; version: bigint } | undefined> {
  const found = await readCurrent(rhizome, keys.bid, { secret: keys.secret });
  return found && { bytes: found.bytes, version: found.view.manifest.version ?? 0n };
}

function describe(outcome: RhizomeOutcome): string {
  return `bundle status ${outcome.bundle ?? '-'}, payload status ${outcome.payload ?? '-'}: ${outcome.reason ?? outcome.bundleMessage ?? ''}`;
}

function refused(reply: RhizomeReply): never {
  const { outcome } = reply;
  if (outcome.bundle === BundleStatus.BUSY || outcome.payload === PayloadStatus.BUSY) fail('RHIZOME_BUSY');
  fail('MESHMB_WRITE_FAILED', { cause: new Error(describe(outcome)) });
}

/** Runs an add session from manifest to finish; the stored bundle, or a failure. */
async function add(session: AddSession, manifest: Manifest, payload: Buffer): Promise<BundleView> {
  try {
    const early = (await session.setManifest(serializeManifestText(manifest))) ?? (await session.openPayload(undefined));
    if (early) refused(early);
    await session.writePayload(payload);
    const done = await session.finish();
    if (done.outcome.bundle !== BundleStatus.NEW || !done.bundle) refused(done);
    return done.bundle;
  } catch (err) {
    await session.abort();
    throw err;
  }
}

/** Appends to a journal made with `secret` (created if absent), as POST /restful/rhizome/append does. */
export function appendJournal(rhizome: RhizomeService, secret: Buffer, manifest: Manifest, bytes: Buffer): Promise<BundleView> {
  const session = rhizome.beginAdd(true);
  session.setSecret(secret);
  session.setBundleId(manifest.id!);
  return add(session, manifest, bytes);
}

/** The partial manifest of a feed append (spec §5.1): the field order the reference writes. */
export function feedManifest(bid: Buffer, sender: Buffer, name: string | undefined): Manifest {
  const m = new Manifest();
  // A name the manifest grammar cannot hold (a line break) is left out rather than failing the send.
  if (name !== undefined && !/[\0\r\n]/.test(name)) m.name = name;
  m.service = FEED_SERVICE;
  m.id = bid;
  m.sender = sender;
  return m;
}

/** The partial manifest of the activity journal: private, encrypted with its own secret. */
export function privateManifest(keys: BundleKeyPair, version?: bigint): Manifest {
  const m = new Manifest();
  m.id = keys.bid;
  m.service = PRIVATE_SERVICE;
  m.crypt = true;
  if (version !== undefined) m.version = version;
  return m;
}

/** Stores a new version of a private, non-journal bundle (the subscriptions). */
export async function insertPrivate(rhizome: RhizomeService, keys: BundleKeyPair, version: bigint, bytes: Buffer): Promise<void> {
  const session = rhizome.beginAdd(false);
  session.setSecret(keys.secret);
  await add(session, privateManifest(keys, version), bytes);
}
