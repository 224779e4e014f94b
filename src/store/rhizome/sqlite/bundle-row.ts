/**
 * Between StoredBundle and a manifests row. The connection runs with safe integers (every INTEGER
 * comes back as a bigint), so date keeps all 64 bits; uint64 columns are 8-byte big-endian BLOBs
 * (see schema.ts). Bundles are checked here before they reach a transaction, so one bad bundle in
 * a group commit is refused on its own instead of failing the whole group.
 */
import type { ListedBundle, NewBundle, StoredBundle } from '../types.js';

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export function encodeUint64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

export function decodeUint64(bytes: Buffer): bigint {
  return bytes.readBigUInt64BE(0);
}

/** The columns a listing selects: all but the signed manifest, which no list row shows. */
export const LISTED_COLUMNS = 'id, inserttime, bid, version, filesize, filehash, tail, service, name, sender, recipient, date, author';

/** The columns every other bundle query selects, in the order ManifestRow lists them. */
export const BUNDLE_COLUMNS = `${LISTED_COLUMNS}, manifest`;

export interface ListedRow {
  readonly id: bigint;
  readonly inserttime: bigint;
  readonly bid: Buffer;
  readonly version: Buffer;
  readonly filesize: bigint;
  readonly filehash: Buffer | null;
  readonly tail: Buffer | null;
  readonly service: string | null;
  readonly name: string | null;
  readonly sender: Buffer | null;
  readonly recipient: Buffer | null;
  readonly date: bigint | null;
  readonly author: Buffer | null;
}

export interface ManifestRow extends ListedRow {
  readonly manifest: Buffer;
}

export function rowToBundle(row: ManifestRow): StoredBundle {
  return { ...rowToListed(row), manifest: row.manifest };
}

export function rowToListed(row: ListedRow): ListedBundle {
  return {
    rowid: Number(row.id),
    inserttime: Number(row.inserttime),
    bid: row.bid,
    version: decodeUint64(row.version),
    filesize: row.filesize,
    filehash: row.filehash ?? undefined,
    tail: row.tail === null ? undefined : decodeUint64(row.tail),
    service: row.service ?? undefined,
    name: row.name ?? undefined,
    sender: row.sender ?? undefined,
    recipient: row.recipient ?? undefined,
    date: row.date ?? undefined,
    author: row.author ?? undefined,
  };
}

/** Named parameters for the INSERT of a new manifests row. */
export function bundleParams(bundle: NewBundle, inserttime: number): Record<string, unknown> {
  return {
    inserttime,
    bid: bundle.bid,
    version: encodeUint64(bundle.version),
    filesize: Number(bundle.filesize),
    filehash: bundle.filehash ?? null,
    tail: bundle.tail === undefined ? null : encodeUint64(bundle.tail),
    service: bundle.service ?? null,
    name: bundle.name ?? null,
    sender: bundle.sender ?? null,
    recipient: bundle.recipient ?? null,
    date: bundle.date ?? null,
    author: bundle.author ?? null,
    manifest: bundle.manifest,
  };
}

/** Throws a RangeError (a programming error: the service validates manifests) for a bundle the store cannot keep. */
export function checkBundle(bundle: NewBundle): void {
  const problem = bundleProblem(bundle);
  if (problem !== undefined) throw new RangeError(`Rhizome store: ${problem}`);
}

function bundleProblem(b: NewBundle): string | undefined {
  if (b.bid.length !== 32) return 'bundle id must be 32 bytes';
  if (b.version < 0n || b.version > UINT64_MAX) return 'version out of uint64 range';
  if (b.filesize < 0n || b.filesize > BigInt(Number.MAX_SAFE_INTEGER)) return 'filesize out of range';
  if (b.tail !== undefined && (b.tail < 0n || b.tail > UINT64_MAX)) return 'tail out of uint64 range';
  if (b.date !== undefined && (b.date < INT64_MIN || b.date > INT64_MAX)) return 'date out of int64 range';
  if (b.filesize === 0n ? b.filehash !== undefined : b.filehash?.length !== 64) {
    return 'filehash must be 64 bytes when filesize > 0, absent otherwise';
  }
  return undefined;
}
