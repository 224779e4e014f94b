/**
 * Range-based set reconciliation (docs/sync.md §5), after Negentropy (hoytech/negentropy) and
 * Meyer's "Range-Based Set Reconciliation" (arXiv 2212.13567), over the prefix ranges of
 * prefix.ts. Each message is a list of ranges, each described either by a fingerprint of the
 * sender's items in it, or by the list of those items:
 *
 *   - a fingerprint equal to ours: that range holds the same items on both sides; nothing to say;
 *   - a fingerprint that differs: we answer with our own items in the range when they are few,
 *     else with the 16 sub-ranges, each described the same way;
 *   - an item list: we now know the difference in that range exactly: we offer what the peer
 *     lacks (or holds an older version of) and ask for what we lack; no answer is needed.
 *
 * Differences are found in O(log n) rounds with bytes in proportion to the number of differences.
 * This module is pure protocol logic over an ItemSource; the link (link.ts) carries the messages.
 */
import { Accumulator, type Summary, type SyncItem } from './fingerprint.js';
import { child, children, lowerBound, ROOT, upperBound, type Prefix } from './prefix.js';

/** Ranges deeper than this are never split (and are invalid on the wire): 16 bytes of id. */
export const MAX_RECON_DEPTH = 32;
/** Bytes of a bundle id in item lists and WANT frames. */
export const ID_PREFIX_BYTES = 16;

/** An item as item lists carry it: the first 16 bytes of its id, and its version. */
export interface IdEntry {
  readonly bid16: Buffer;
  readonly version: bigint;
}

export type RangeEntry =
  | { readonly kind: 'fingerprint'; readonly prefix: Prefix; readonly fingerprint: Buffer }
  | { readonly kind: 'ids'; readonly prefix: Prefix; readonly ids: readonly IdEntry[] };

/** What a node knows of its own items. */
export interface ItemSource {
  summary(p: Prefix): Promise<Summary>;
  /** The summaries of the 16 sub-ranges of `p`, in order. */
  childSummaries(p: Prefix): Promise<Summary[]>;
  /** Our items in the range, in id order. */
  items(p: Prefix): AsyncIterable<SyncItem>;
}

/** Where the differences found go. */
export interface Differences {
  /** We hold `item`; the peer lacks it or holds an older version. */
  offer(item: SyncItem): Promise<void>;
  /** The peer holds this; we lack it or hold an older version. */
  want(id: IdEntry): Promise<void>;
}

export interface ReconcileOptions {
  /** Answer a differing range with our item list when we hold at most this many items in it. */
  readonly listMax: number;
  /** Describe a sub-range by its item list rather than a fingerprint up to this many items. */
  readonly leafListMax: number;
}

export const DEFAULT_RECONCILE: ReconcileOptions = { listMax: 32, leafListMax: 1 };

function toEntry(item: SyncItem): IdEntry {
  return { bid16: item.bid.subarray(0, ID_PREFIX_BYTES), version: item.version };
}

async function idsOf(source: ItemSource, p: Prefix): Promise<RangeEntry> {
  const ids: IdEntry[] = [];
  for await (const item of source.items(p)) ids.push(toEntry(item));
  return { kind: 'ids', prefix: p, ids };
}

async function describe(source: ItemSource, p: Prefix, summary: Summary, listMax: number): Promise<RangeEntry> {
  if (summary.count <= listMax || p.depth >= MAX_RECON_DEPTH) return idsOf(source, p);
  return { kind: 'fingerprint', prefix: p, fingerprint: summary.fingerprint };
}

/** The 16 sub-ranges of `p`, each by fingerprint or item list. */
async function split(source: ItemSource, p: Prefix, options: ReconcileOptions): Promise<RangeEntry[]> {
  const summaries = await source.childSummaries(p);
  const out: RangeEntry[] = [];
  for (let i = 0; i < 16; i++) out.push(await describe(source, child(p, i), summaries[i]!, options.leafListMax));
  return out;
}

/** The first message of a session: the whole id space. */
export async function openingRanges(source: ItemSource, options: ReconcileOptions = DEFAULT_RECONCILE): Promise<RangeEntry[]> {
  const summary = await source.summary(ROOT);
  if (summary.count <= options.listMax) return [await idsOf(source, ROOT)];
  return split(source, ROOT, options);
}

/**
 * Answers one range of a received message: the ranges to put in our reply (for a fingerprint),
 * or the differences (for an item list).
 */
export async function answerRange(
  source: ItemSource,
  entry: RangeEntry,
  diffs: Differences,
  options: ReconcileOptions = DEFAULT_RECONCILE,
): Promise<RangeEntry[]> {
  if (entry.kind === 'ids') {
    await resolve(source, entry.prefix, entry.ids, diffs);
    return [];
  }
  const ours = await source.summary(entry.prefix);
  if (ours.fingerprint.equals(entry.fingerprint)) return [];
  if (ours.count <= options.listMax || entry.prefix.depth >= MAX_RECON_DEPTH) return [await idsOf(source, entry.prefix)];
  return split(source, entry.prefix, options);
}

function compareIds(a: Buffer, b: Buffer): number {
  return a.compare(b, 0, ID_PREFIX_BYTES, 0, ID_PREFIX_BYTES);
}

/** Merges the peer's item list for a range with ours. `theirs` is sorted and unique (checked on decode). */
async function resolve(source: ItemSource, p: Prefix, theirs: readonly IdEntry[], diffs: Differences): Promise<void> {
  let i = 0;
  for await (const mine of source.items(p)) {
    while (i < theirs.length && compareIds(theirs[i]!.bid16, mine.bid) < 0) await diffs.want(theirs[i++]!);
    const same = i < theirs.length && compareIds(theirs[i]!.bid16, mine.bid) === 0 ? theirs[i++] : undefined;
    if (same === undefined || same.version < mine.version) await diffs.offer(mine);
    else if (same.version > mine.version) await diffs.want(same);
  }
  while (i < theirs.length) await diffs.want(theirs[i++]!);
}

/** An ItemSource over a sorted array in memory: for tests and tools. */
export function memorySource(sorted: readonly SyncItem[]): ItemSource {
  const firstAtOrAfter = (key: Buffer | undefined): number => {
    if (key === undefined) return sorted.length;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.bid.compare(key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const inRange = (p: Prefix): readonly SyncItem[] => sorted.slice(firstAtOrAfter(lowerBound(p)), firstAtOrAfter(upperBound(p)));
  const summarise = (items: readonly SyncItem[]): Summary => {
    const acc = new Accumulator();
    for (const it of items) acc.add(it);
    return acc.summary();
  };
  return {
    summary: (p) => Promise.resolve(summarise(inRange(p))),
    childSummaries: (p) => Promise.resolve(children(p).map((c) => summarise(inRange(c)))),
    // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable like the store's
    items: async function* (p) {
      yield* inRange(p);
    },
  };
}
