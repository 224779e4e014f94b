/**
 * The node's own items for reconciliation (an ItemSource over the Rhizome store), with the
 * fingerprints of every range down to 4 hex digits (65,536 leaves) kept in memory, so a session
 * costs lookups rather than a pass over the store: 2.3 MiB whatever the store holds.
 *
 * Leaves are recomputed from the store when marked dirty: a commit of bundle X marks X's leaf
 * (touch()), and the leaf is read again (a few rows) the next time a range containing it is asked
 * for. Replacing a version therefore needs no knowledge of the old one, and a burst of imports
 * costs nothing until the next session. Ranges deeper than the leaves are summed from the store.
 * The index is built lazily, by one pass over the store's keys, when first asked.
 */
import type { BundleKey } from '../../../store/rhizome/types.js';
import { Accumulator, ACC_WORDS, addAcc, addInto, fingerprintOf, itemHash, type Summary, type SyncItem } from './fingerprint.js';
import { lowerBound, nibble, upperBound, type Prefix } from './prefix.js';
import type { ItemSource } from './reconciler.js';

/** Reads the store's ids and versions in id ranges (RhizomeStore.keys). */
export type KeyReader = (from: Buffer, before: Buffer | undefined, limit: number) => Promise<BundleKey[]>;

const CACHE_DEPTH = 4;
const PAGE = 2000;
/** Nodes of levels 0..4: 1 + 16 + 256 + 4096 + 65536. */
const LEVEL_START = [0, 1, 17, 273, 4369];
const NODES = 4369 + 65536;

function leafOf(bid: Buffer): number {
  return (bid[0]! << 8) | bid[1]!;
}

function nodeOf(p: Prefix): number {
  return LEVEL_START[p.depth]! + (leafOf(p.key) >> (4 * (CACHE_DEPTH - p.depth)));
}

/** The ids just after `bid` in order: `bid` followed by a zero byte sorts right after it. */
function after(bid: Buffer): Buffer {
  return Buffer.concat([bid, Buffer.of(0)]);
}

export class FingerprintIndex implements ItemSource {
  readonly #keys: KeyReader;
  readonly #acc = new Uint32Array(NODES * ACC_WORDS);
  readonly #count = new Uint32Array(NODES);
  /** 1 where a node (or, for a leaf, its rows) must be recomputed. */
  readonly #dirty = new Uint8Array(NODES);
  #built: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(keys: KeyReader) {
    this.#keys = keys;
  }

  /** A bundle with this id was stored (or replaced): its leaf is read again when next needed. */
  touch(bid: Buffer): void {
    let node = leafOf(bid);
    for (let depth = CACHE_DEPTH; depth >= 0; depth--) {
      this.#dirty[LEVEL_START[depth]! + node] = 1;
      node >>= 4;
    }
  }

  /** Every item of the store: built once, on first use. */
  ready(): Promise<void> {
    this.#built ??= this.#build();
    return this.#built;
  }

  async #build(): Promise<void> {
    const leaves = LEVEL_START[CACHE_DEPTH]!;
    let from: Buffer = Buffer.alloc(0);
    for (;;) {
      const page = await this.#keys(from, undefined, PAGE);
      for (const key of page) {
        const leaf = leaves + leafOf(key.bid);
        addInto(this.#acc, leaf * ACC_WORDS, itemHash(key.bid, key.version));
        this.#count[leaf]!++;
      }
      if (page.length < PAGE) break;
      from = after(page.at(-1)!.bid);
    }
    // Inner nodes are summed from the leaves when first read.
    this.#dirty.fill(1, 0, leaves);
  }

  /**
   * Refreshes run one at a time: two sessions (two peers) refreshing the same node at once could
   * otherwise read a sum that is cleared of its dirty mark but not yet recomputed.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  summary(p: Prefix): Promise<Summary> {
    return this.#exclusive(() => this.#summary(p));
  }

  childSummaries(p: Prefix): Promise<Summary[]> {
    return this.#exclusive(() => this.#childSummaries(p));
  }

  async #summary(p: Prefix): Promise<Summary> {
    await this.ready();
    if (p.depth > CACHE_DEPTH) return this.#scan(p);
    const node = nodeOf(p);
    await this.#refresh(node, p.depth);
    return { count: this.#count[node]!, fingerprint: fingerprintOf(this.#acc, node * ACC_WORDS, this.#count[node]!) };
  }

  async #childSummaries(p: Prefix): Promise<Summary[]> {
    await this.ready();
    if (p.depth < CACHE_DEPTH) {
      const out: Summary[] = [];
      const first = LEVEL_START[p.depth + 1]! + (nodeOf(p) - LEVEL_START[p.depth]!) * 16;
      for (let i = 0; i < 16; i++) {
        const node = first + i;
        await this.#refresh(node, p.depth + 1);
        out.push({ count: this.#count[node]!, fingerprint: fingerprintOf(this.#acc, node * ACC_WORDS, this.#count[node]!) });
      }
      return out;
    }
    // Below the cached levels: one pass over the range, bucketed by its next digit.
    const buckets = Array.from({ length: 16 }, () => new Accumulator());
    for await (const item of this.items(p)) buckets[nibble(item.bid, p.depth)]!.add(item);
    return buckets.map((b) => b.summary());
  }

  async *items(p: Prefix): AsyncIterable<SyncItem> {
    const before = upperBound(p);
    let from: Buffer = lowerBound(p);
    for (;;) {
      const page = await this.#keys(from, before, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      from = after(page.at(-1)!.bid);
    }
  }

  async #scan(p: Prefix): Promise<Summary> {
    const acc = new Accumulator();
    for await (const item of this.items(p)) acc.add(item);
    return acc.summary();
  }

  /** Makes `node` (at `depth`) current: leaves from the store, inner nodes from their children. */
  async #refresh(node: number, depth: number): Promise<void> {
    if (this.#dirty[node] === 0) return;
    this.#dirty[node] = 0;
    const sum = new Accumulator();
    if (depth === CACHE_DEPTH) {
      const key = Buffer.alloc(32);
      key.writeUInt16BE(node - LEVEL_START[CACHE_DEPTH]!);
      for await (const item of this.items({ depth, key })) sum.add(item);
      // Touched again while its rows were read: read them once more.
      if (this.#dirty[node] === 1) return this.#refresh(node, depth);
    } else {
      const first = LEVEL_START[depth + 1]! + (node - LEVEL_START[depth]!) * 16;
      for (let i = 0; i < 16; i++) {
        await this.#refresh(first + i, depth + 1);
        addAcc(sum.acc, 0, this.#acc, (first + i) * ACC_WORDS);
        sum.count += this.#count[first + i]!;
      }
    }
    this.#acc.set(sum.acc, node * ACC_WORDS);
    this.#count[node] = sum.count;
  }
}
