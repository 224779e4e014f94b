/**
 * Copying a whole store — bundles, keyring, API tokens — from one backend to another (`tendril
 * store migrate`), through the same contracts the node uses, so it works in either direction.
 *
 *   - The source is only read. Every payload is streamed from it (its hash checked as it is read)
 *     into the target's writer, and the bundle committed with its signed manifest unchanged.
 *   - Resumable: a bundle the target already holds at the same version, with the same manifest
 *     bytes, is not copied again; a run cut short is simply run again.
 *   - Verifying: each bundle, copied now or earlier, is read back from the target (manifest bytes
 *     compared, payload read whole, which checks its SHA-512) before it counts as migrated.
 *   - A bundle whose payload the source no longer holds (evicted) cannot be stored without one: it
 *     is counted and reported, not copied.
 *   - Keyring slots are copied sealed, with the salt they were sealed under: the target must hold
 *     no keyring yet, or this very one (a resumed run, or an earlier copy). The target's slots and
 *     tokens become the source's: an identity removed or a token revoked since an earlier copy
 *     does not come back. Bundles are only added (they are signed, public, and versioned).
 */
import type { Readable } from 'node:stream';
import type { KeyringFile } from './keyring-file.js';
import type { KeyringStorage } from './keyring-storage.js';
import type { RhizomeStore, StoredBundle } from './rhizome/types.js';
import type { TokenStorage } from './token-storage.js';

export interface MigrationEnds {
  readonly store: RhizomeStore;
  /** The source's keyring as stored (undefined: it has none); the target's storage. */
  readonly keyring: KeyringFile | undefined;
  readonly tokens: TokenStorage;
}

export interface MigrationTarget {
  readonly store: RhizomeStore;
  readonly keyring: KeyringStorage;
  readonly tokens: TokenStorage;
}

export interface MigrationReport {
  readonly bundles: number;
  readonly copied: number;
  readonly alreadyThere: number;
  /** Bundles whose payload the source no longer holds (not copied). */
  readonly payloadMissing: number;
  readonly bytes: number;
  readonly identities: number;
  readonly tokens: number;
}

export interface MigrationProgress {
  /** Called once the number of bundles is known, then after each bundle. */
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export async function migrateStore(source: MigrationEnds, target: MigrationTarget, progress: MigrationProgress): Promise<MigrationReport> {
  const identities = await migrateKeyring(source.keyring, target.keyring);
  const tokens = await migrateTokens(source.tokens, target.tokens);
  const total = await source.store.bundleCount();
  progress.start(total);
  let done = 0;
  let copied = 0;
  let alreadyThere = 0;
  let payloadMissing = 0;
  let bytes = 0;
  try {
    for await (const batch of source.store.list({}, { order: 'asc' })) {
      for (const bundle of batch) {
        const outcome = await migrateBundle(source.store, target.store, bundle);
        if (outcome === 'copied') {
          copied++;
          bytes += Number(bundle.filesize);
        } else if (outcome === 'there') alreadyThere++;
        else payloadMissing++;
        progress.update(++done);
      }
    }
  } finally {
    progress.stop();
  }
  return { bundles: done, copied, alreadyThere, payloadMissing, bytes, identities, tokens };
}

async function migrateBundle(from: RhizomeStore, to: RhizomeStore, bundle: StoredBundle): Promise<'copied' | 'there' | 'missing'> {
  const present = await to.get(bundle.bid);
  if (present !== undefined && present.version > bundle.version) {
    throw new MigrationError(`bundle ${bundle.bid.toString('hex')}: the target holds a newer version; migrate into a store of its own`);
  }
  if (present?.version === bundle.version && present.manifest.equals(bundle.manifest) && (await payloadHeld(to, bundle))) {
    await verify(to, bundle);
    return 'there';
  }
  let payload: Readable | undefined;
  if (bundle.filesize > 0n) {
    payload = await from.readPayload(bundle.filehash!);
    if (payload === undefined) return 'missing';
  }
  const { rowid: _rowid, inserttime: _inserttime, ...columns } = bundle;
  if (payload === undefined) {
    await to.commit(columns, { kind: 'empty' });
  } else {
    const writer = to.createPayloadWriter();
    try {
      for await (const chunk of payload) await writer.write(chunk as Buffer);
      const finished = await writer.finish();
      if (!finished.hash.equals(bundle.filehash!)) throw new MigrationError(`bundle ${bundle.bid.toString('hex')}: payload hash differs`);
      await to.commit(columns, finished);
    } finally {
      payload.destroy();
      await writer.abort();
    }
  }
  await verify(to, bundle);
  return 'copied';
}

async function payloadHeld(store: RhizomeStore, bundle: StoredBundle): Promise<boolean> {
  return bundle.filesize === 0n || (await store.payloadLength(bundle.filehash!)) === Number(bundle.filesize);
}

/** The target holds this very bundle, its payload whole and matching its hash. */
async function verify(store: RhizomeStore, bundle: StoredBundle): Promise<void> {
  const stored = await store.get(bundle.bid);
  const what = `bundle ${bundle.bid.toString('hex')}`;
  if (stored === undefined || stored.version !== bundle.version || !stored.manifest.equals(bundle.manifest)) {
    throw new MigrationError(`${what}: not found as copied in the target`);
  }
  if (bundle.filesize === 0n) return;
  const stream = await store.readPayload(bundle.filehash!);
  if (stream === undefined) throw new MigrationError(`${what}: payload not held by the target`);
  let length = 0;
  for await (const chunk of stream) length += (chunk as Buffer).length; // a hash mismatch fails the stream
  if (length !== Number(bundle.filesize)) throw new MigrationError(`${what}: payload length differs`);
}

async function migrateKeyring(source: KeyringFile | undefined, target: KeyringStorage): Promise<number> {
  if (source === undefined) return 0;
  const current = await target.load(source.kdf);
  if (current.slots.length > 0 && !current.salt.equals(source.salt)) {
    throw new MigrationError('the target already holds another keyring (its slots are sealed under another salt)');
  }
  await target.adopt(source);
  return source.slots.length;
}

/** The target's tokens become the source's: a token revoked since an earlier copy goes there too. */
async function migrateTokens(source: TokenStorage, target: TokenStorage): Promise<number> {
  const wanted = await source.load();
  const keep = new Set(wanted.map((t) => t.id));
  const all = (await target.load()).filter((t) => keep.has(t.id));
  for (const token of await target.load()) if (!keep.has(token.id)) await target.remove(token.id, all);
  const ids = new Set(all.map((t) => t.id));
  for (const token of wanted) {
    if (ids.has(token.id)) continue;
    all.push(token);
    await target.add(token, all);
  }
  return all.length;
}
