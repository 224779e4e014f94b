/**
 * Test support for the Rhizome store: real stores in temporary directories, bundles with made-up
 * manifests (the store never parses them), and payloads written through the store's own writer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openRhizomeStore } from '../../src/store/rhizome/open.js';
import type {
  CommitOutcome,
  CommitPayload,
  NewBundle,
  RhizomeStore,
  StoreOptions,
} from '../../src/store/rhizome/types.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tendril-store-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function storeOptions(dir: string, overrides: Partial<StoreOptions> = {}): StoreOptions {
  return { dir: join(dir, 'rhizome'), databaseSize: undefined, minFreeSpace: 0n, maxBlobSize: 1024, ...overrides };
}

export function openTestStore(dir: string, overrides: Partial<StoreOptions> = {}): Promise<RhizomeStore> {
  return openRhizomeStore(storeOptions(dir, overrides));
}

/** Every bundle of a listing, its batches joined. */
export async function all<T>(batches: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of batches) out.push(...batch);
  return out;
}

/** The row ids of a listing, in its order. */
export async function rowids(batches: AsyncIterable<ReadonlyArray<{ readonly rowid: number }>>): Promise<number[]> {
  return (await all(batches)).map((b) => b.rowid);
}

export function sha512(bytes: Buffer): Buffer {
  return createHash('sha512').update(bytes).digest();
}

export interface BundleSpec {
  readonly bid?: Buffer;
  readonly version?: bigint;
  readonly payload?: Buffer;
  readonly service?: string;
  readonly name?: string;
  readonly sender?: Buffer;
  readonly recipient?: Buffer;
  readonly tail?: bigint;
  readonly date?: bigint;
}

export function makeBundle(spec: BundleSpec = {}): NewBundle {
  const bid = spec.bid ?? randomBytes(32);
  const version = spec.version ?? 1n;
  const payload = spec.payload ?? Buffer.alloc(0);
  const text = `id=${bid.toString('hex').toUpperCase()}\nversion=${version}\nfilesize=${payload.length}\n`;
  return {
    bid,
    version,
    filesize: BigInt(payload.length),
    filehash: payload.length === 0 ? undefined : sha512(payload),
    tail: spec.tail,
    service: spec.service ?? 'file',
    name: spec.name,
    sender: spec.sender,
    recipient: spec.recipient,
    date: spec.date,
    author: undefined,
    manifest: Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0]), randomBytes(97)]),
  };
}

/** Streams `bytes` into a new writer in `chunk`-sized pieces and finishes it. */
export async function writePayload(store: RhizomeStore, bytes: Buffer, chunk = 16 * 1024): Promise<CommitPayload> {
  if (bytes.length === 0) return { kind: 'empty' };
  const writer = store.createPayloadWriter();
  for (let off = 0; off < bytes.length; off += chunk) await writer.write(bytes.subarray(off, off + chunk));
  return writer.finish();
}

/** Writes the payload and commits the bundle. */
export async function insert(store: RhizomeStore, spec: BundleSpec = {}): Promise<CommitOutcome> {
  const bundle = makeBundle(spec);
  return store.commit(bundle, await writePayload(store, spec.payload ?? Buffer.alloc(0)));
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Reads a stream to its end or failure; returns the bytes received and the error, if any. */
export async function drain(stream: Readable): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const part of stream) bytes += (part as Buffer).length;
    return { bytes, error: undefined };
  } catch (error) {
    return { bytes, error };
  }
}

/** Every payload file under the store's payloads/ directory, as hex hashes. */
export function payloadFiles(storeDir: string): string[] {
  const root = join(storeDir, 'payloads');
  return readdirSync(root).flatMap((fanout) => readdirSync(join(root, fanout)));
}
