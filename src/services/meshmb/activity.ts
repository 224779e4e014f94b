/**
 * The activity journal (spec §5.7, §7.13): a private ply of ACK records, each naming a range of a
 * feed that was noticed, with one TIME record after each batch. An ACK's `binary` is a prefix of
 * the feed's BID (none: the identity's own feed); reading it back walks the journal backwards and
 * each referenced feed backwards from the ACK's end to its start, emitting MESSAGE records.
 */
import { RecordType, decodeAck, decodeMessage, encodeAck, encodeTime, recordsBackward } from '../../formats/ply.js';
import type { FeedState } from './subscriptions.js';
import type { ActivityItem, ActivityPosition } from './types.js';

/**
 * How many bytes of `bid` an ACK carries (the reference's `(tree_depth >> 3) + 3`). The reference
 * keeps feeds in a tree of 4-bit digits, and a feed's depth is one digit more than it shares with
 * its closest neighbour; three more bytes than that depth covers make the prefix unambiguous.
 */
export function feedPrefixLength(bid: Buffer, others: Iterable<Buffer>): number {
  let shared = 0;
  for (const other of others) {
    if (other.equals(bid)) continue;
    let digits = 0;
    while (digits < 64 && nibble(bid, digits) === nibble(other, digits)) digits++;
    shared = Math.max(shared, digits);
  }
  const bits = 4 * (shared + 1);
  return Math.min(bid.length, (bits >> 3) + 3);
}

function nibble(bytes: Buffer, index: number): number {
  const byte = bytes[index >> 1]!;
  return index & 1 ? byte & 0xf : byte >> 4;
}

/** The one feed whose BID starts with `prefix`; none if no feed or several do. */
export function feedByPrefix(prefix: Buffer, feeds: Iterable<FeedState>): FeedState | undefined {
  let found: FeedState | undefined;
  for (const feed of feeds) {
    if (prefix.length > feed.bid.length || !feed.bid.subarray(0, prefix.length).equals(prefix)) continue;
    if (found) return undefined;
    found = feed;
  }
  return found;
}

export interface NoticedRange {
  /** Undefined: the identity's own feed. */
  readonly prefix: Buffer | undefined;
  readonly start: number;
  readonly end: number;
}

/** The bytes one flush appends: an ACK per range, then a TIME record when the clock is reliable. */
export function activityBatch(ranges: readonly NoticedRange[], seconds: number | undefined): Buffer {
  const records = ranges.map((r) => encodeAck(r.end, r.start, r.prefix));
  if (seconds !== undefined) records.push(encodeTime(seconds));
  return Buffer.concat(records);
}

/** A feed as the activity view needs it. */
export interface ActivityFeed {
  readonly bytes: Buffer;
  readonly author: Buffer;
  readonly name: Buffer | undefined;
}

export interface ActivitySource {
  readonly journal: Buffer;
  readonly ownFeed: Buffer;
  /** The followed and blocked feeds when the journal was read. */
  readonly feeds: readonly FeedState[];
  /** Reads a feed; undefined if the store lacks it. */
  readonly readFeed: (bid: Buffer) => Promise<ActivityFeed | undefined>;
}

function isAbove(p: ActivityPosition, after: ActivityPosition | undefined): boolean {
  return after === undefined || p.ack > after.ack || (p.ack === after.ack && p.msg > after.msg);
}

/**
 * The activity rows, newest first, stopping at the first row at or below `after`. Positions only
 * decrease along the walk, so everything after that row is older still.
 */
export async function* walkActivity(source: ActivitySource, after?: ActivityPosition): AsyncGenerator<ActivityItem> {
  const cache = new Map<string, Promise<ActivityFeed | undefined>>();
  const read = (bid: Buffer): Promise<ActivityFeed | undefined> => {
    const key = bid.toString('hex');
    let feed = cache.get(key);
    if (!feed) cache.set(key, (feed = source.readFeed(bid)));
    return feed;
  };
  let noticed = 0;
  for (const record of recordsBackward(source.journal)) {
    if (record.type === RecordType.TIME) {
      if (record.content.length >= 4) noticed = record.content.readUInt32LE(0);
      continue;
    }
    if (record.type !== RecordType.ACK) continue;
    const ack = decodeAck(record.content);
    // The reference ends the walk at a malformed ACK.
    if (!ack) return;
    let bid = source.ownFeed;
    if (ack.binary) {
      const feed = feedByPrefix(ack.binary, source.feeds);
      if (!feed || feed.blocked) continue;
      bid = feed.bid;
    }
    const feed = await read(bid);
    const end = Number(ack.end);
    const start = Number(ack.start);
    if (!feed || end > feed.bytes.length) continue;
    for (const message of recordsBackward(feed.bytes, end)) {
      if (message.start < start) break;
      if (message.type !== RecordType.MESSAGE) continue;
      const position = { ack: record.end, msg: message.end };
      if (!isAbove(position, after)) return;
      const text = decodeMessage(message.content) ?? message.content;
      yield { position, feed: bid, author: feed.author, name: feed.name, timestamp: noticed, text };
    }
  }
}
