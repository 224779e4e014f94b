/**
 * Rhizome Direct's walk over a store (rhizome_direct.c, the bundle cursor): bundles are visited by
 * size bin — [0, 1024], then [1025, 2048], [2049, 4096], … doubling up to 2^48 — and within a bin
 * in BID order, a window of at most N bundles at a time. Each window is described by a 10-byte
 * range (src/formats/direct-wire.ts) so that the other side can list its own bundles of exactly
 * that part of the walk and compare.
 *
 * The same walk runs on both sides: the asker's cursor starts at the beginning and fills 2,047
 * BARs a round (what fits 64 KiB); the answerer's cursor starts where the asker's range says and
 * fills at most 4,095 within the range's end. Sizes are bigints, so a hostile range (sizes up to
 * 2^255, where the reference's 64-bit arithmetic overflows) still ends: every empty bin doubles
 * the size, and every query that finds bundles moves the BID forward.
 */
import { pickleRange, unpickleRange } from '../../formats/direct-wire.js';
import type { BarEntry, BarQuery } from '../../store/rhizome/types.js';

/** Reads a window of the walk from a store (RhizomeStore.barsInRange). */
export type BarSource = (query: BarQuery) => Promise<readonly BarEntry[]>;

export const BID_ZERO: Readonly<Buffer> = Buffer.alloc(32);
export const BID_MAX: Readonly<Buffer> = Buffer.alloc(32, 0xff);
const FIRST_BIN_HIGH = 1024n;
/** Where an asker's walk ends: the largest size bin (rhizome_direct_bundle_iterator_unlimit). */
const UNLIMITED_SIZE = 1n << 48n;
/** BARs an asker sends a round: (65536 - 10) / 32. */
export const ASKER_BARS = 2047;
/** BARs an answerer lists for a range: its 64 KiB answer allows (65536 - 10) / 16 records. */
export const ANSWERER_BARS = 4095;

export interface Fill {
  /** The 10-byte range this fill covered. */
  readonly range: Buffer;
  readonly entries: readonly BarEntry[];
}

/** The BID after `bid` (big-endian + 1), or undefined after the last one. */
function nextBid(bid: Buffer): Buffer | undefined {
  const next = Buffer.from(bid);
  for (let i = next.length - 1; i >= 0; i--) {
    next[i] = (next[i]! + 1) & 0xff;
    if (next[i] !== 0) return next;
  }
  return undefined;
}

export class BarCursor {
  private sizeLow: bigint;
  private sizeHigh: bigint;
  private bidLow: Buffer;
  private bidHigh: Buffer = Buffer.from(BID_ZERO);

  private constructor(
    sizeHigh: bigint,
    bidLow: Buffer,
    private readonly limitSizeHigh: bigint,
    private readonly limitBidHigh: Buffer,
  ) {
    this.sizeHigh = sizeHigh;
    this.sizeLow = sizeHigh <= FIRST_BIN_HIGH ? 0n : sizeHigh / 2n + 1n;
    this.bidLow = bidLow;
  }

  /** An asker's cursor: the whole walk, from the first bin. */
  static start(): BarCursor {
    return new BarCursor(FIRST_BIN_HIGH, Buffer.from(BID_ZERO), UNLIMITED_SIZE, Buffer.from(BID_MAX));
  }

  /** An answerer's cursor for the range an enquiry names. */
  static fromRange(range: Uint8Array): BarCursor {
    const r = unpickleRange(range);
    return new BarCursor(r.sizeHigh, r.bidLow, r.limitSizeHigh, r.limitBidHigh);
  }

  /** True once the walk has passed its last bin and BID. */
  get finished(): boolean {
    return this.sizeHigh >= this.limitSizeHigh && Buffer.compare(this.bidLow, this.limitBidHigh) >= 0;
  }

  /** How far the walk has come, for a progress display: the current bin's upper size. */
  get position(): bigint {
    return this.sizeHigh;
  }

  /** Lists the next window of at most `maxBars` bundles and advances past it. */
  async fill(source: BarSource, maxBars: number): Promise<Fill> {
    const startSizeHigh = this.sizeHigh;
    const startBidLow = this.bidLow;
    const entries: BarEntry[] = [];
    while (entries.length < maxBars && this.sizeHigh <= this.limitSizeHigh) {
      const want = maxBars - entries.length;
      const bidHigh = this.sizeHigh === this.limitSizeHigh ? this.limitBidHigh : BID_MAX;
      const rows = await source({ sizeLow: this.sizeLow, sizeHigh: this.sizeHigh, bidLow: this.bidLow, bidHigh, limit: want });
      for (const row of rows.slice(0, want)) entries.push(row);
      if (rows.length > 0) this.bidHigh = Buffer.from(rows[Math.min(rows.length, want) - 1]!.bid);
      // Fewer than asked: the bin holds no more (the reference learns it from one more, empty
      // query, and ends in the same state).
      const next = rows.length >= want ? nextBid(this.bidHigh) : undefined;
      if (next === undefined) this.nextBin();
      else this.bidLow = next;
    }
    return { range: pickleRange({ startSizeHigh, startBidLow, endSizeHigh: this.sizeHigh, endBidHigh: this.bidHigh }), entries };
  }

  /** The bin is done: on to the next, recording that this one was covered to its last BID. */
  private nextBin(): void {
    this.sizeLow = this.sizeHigh + 1n;
    this.sizeHigh *= 2n;
    if (this.sizeHigh <= FIRST_BIN_HIGH) this.sizeLow = 0n;
    this.bidHigh = Buffer.from(BID_MAX);
    this.bidLow = Buffer.from(this.sizeHigh > this.limitSizeHigh ? BID_MAX : BID_ZERO);
  }
}
