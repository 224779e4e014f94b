/**
 * Bench only: fills a node's Rhizome store fast, before the node starts, with real bundles —
 * fresh Ed25519 keys, signed manifests, payloads hashed and committed through the store's own
 * writer and group commit — as the node itself would store them, only without HTTP in between.
 * Signing is most of the cost (about 40 µs a bundle); commits run 512 at a time so the group
 * commit batches them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { randomBundleKeyPair, signManifest } from '../src/crypto/bundle-keys.js';
import { parseManifest } from '../src/formats/manifest.js';
import { bundleColumns } from '../src/services/rhizome/columns.js';
import { openRhizomeStore } from '../src/store/rhizome/open.js';
import type { CommitPayload, RhizomeStore } from '../src/store/rhizome/types.js';

export function openStore(instance: string): Promise<RhizomeStore> {
  return openRhizomeStore({ dir: join(instance, 'rhizome'), databaseSize: undefined, minFreeSpace: 0n, maxBlobSize: 128 * 1024 });
}

/** One signed bundle of `payload` (empty: no payload), stored. Returns its id (hex). */
async function storeOne(store: RhizomeStore, payload: Buffer | (() => AsyncIterable<Buffer>), size: number, name: string): Promise<string> {
  const keys = randomBundleKeyPair();
  const hash = createHash('sha512');
  let committed: CommitPayload = { kind: 'empty' };
  if (size > 0) {
    const writer = store.createPayloadWriter();
    const chunks = Buffer.isBuffer(payload) ? [payload] : payload();
    for await (const chunk of chunks) {
      hash.update(chunk);
      await writer.write(chunk);
    }
    committed = await writer.finish();
  }
  const id = keys.bid.toString('hex').toUpperCase();
  const fields = [`id=${id}`, `version=${Date.now()}`, `filesize=${size}`];
  if (size > 0) fields.push(`filehash=${hash.digest('hex').toUpperCase()}`);
  fields.push('service=file', `name=${name}`);
  const signed = signManifest(Buffer.from(`${fields.join('\n')}\n`, 'latin1'), keys.secretKey);
  await store.commit(bundleColumns(parseManifest(signed), signed), committed);
  return id;
}

/** Stores `count` bundles with `size`-byte random payloads; returns their ids. */
export async function fillStore(instance: string, count: number, size: number, prefix = 'bench'): Promise<string[]> {
  const store = await openStore(instance);
  try {
    const ids: string[] = [];
    const window = new Set<Promise<void>>();
    for (let i = 0; i < count; i++) {
      const p = storeOne(store, size > 0 ? randomBytes(size) : Buffer.alloc(0), size, `${prefix}-${i}`).then((id) => {
        ids.push(id);
        window.delete(p);
      });
      window.add(p);
      if (window.size >= 512) await Promise.race(window);
    }
    await Promise.all(window);
    return ids;
  } finally {
    await store.close();
  }
}

/** Stores one bundle of `size` random bytes, generated in 1 MiB pieces (never held whole). */
export async function storeLarge(instance: string, size: number): Promise<string> {
  const store = await openStore(instance);
  try {
    return await storeOne(
      store,
      // eslint-disable-next-line @typescript-eslint/require-await -- the writer takes an async iterable
      async function* () {
        for (let at = 0; at < size; at += 1024 * 1024) yield randomBytes(Math.min(1024 * 1024, size - at));
      },
      size,
      'large.bin',
    );
  } finally {
    await store.close();
  }
}

/**
 * Copies one instance's store into another, as a second node holding the same bundles; the copy
 * gets a UUID of its own, as a store made on that node would (the UUID is the node's sync id).
 */
export function copyStore(from: string, to: string): void {
  cpSync(join(from, 'rhizome'), join(to, 'rhizome'), { recursive: true });
  const db = new Database(join(to, 'rhizome', 'rhizome.db'));
  db.prepare("UPDATE meta SET value = ? WHERE key = 'uuid'").run(randomBytes(16));
  db.close();
}
