/**
 * An identity's MeshMB subscriptions (spec §7.13): what is kept per followed or blocked feed, and
 * the payload of the private bundle that keeps it, format version 0:
 *
 *   0x00, then per feed in Bundle ID order:
 *     BID (32) ‖ author SID (32) ‖ flags (0x01 blocked, 0x02 name overridden)
 *     unless blocked: uleb(size) uleb(size − last message offset) uleb(size − last seen)
 *                     uleb(timestamp) name ‖ NUL  last message ‖ NUL
 */
import { decodeUleb, encodeUleb } from '../../formats/leb128.js';

export const SUBSCRIPTIONS_FORMAT = 0;
/** Names and last messages are kept to this many bytes (the reference's 256 with its NUL). */
export const MAX_FEED_TEXT = 255;

const FLAG_BLOCKED = 0x01;
const FLAG_NAME_OVERRIDDEN = 0x02;
const ID_BYTES = 32;

export interface FeedState {
  readonly bid: Buffer;
  /** SID, 32 zero bytes while unknown. */
  author: Buffer;
  blocked: boolean;
  /** The name was given when following and is not taken from the feed. */
  nameOverridden: boolean;
  name: Buffer | undefined;
  lastMessage: Buffer | undefined;
  /** Seconds of the newest message. */
  timestamp: number;
  /** The feed's size when last read: bytes beyond it are new. */
  size: number;
  lastMessageOffset: number;
  /** Never advanced by the reference (always 0); kept for the format. */
  lastSeen: number;
}

export function newFeedState(bid: Buffer): FeedState {
  return {
    bid,
    author: Buffer.alloc(ID_BYTES),
    blocked: false,
    nameOverridden: false,
    name: undefined,
    lastMessage: undefined,
    timestamp: 0,
    size: 0,
    lastMessageOffset: 0,
    lastSeen: 0,
  };
}

/** A name or message as kept: cut at a NUL and to MAX_FEED_TEXT bytes; empty is none. */
export function feedText(bytes: Buffer | undefined): Buffer | undefined {
  if (!bytes) return undefined;
  const nul = bytes.indexOf(0);
  const text = bytes.subarray(0, Math.min(nul === -1 ? bytes.length : nul, MAX_FEED_TEXT));
  return text.length === 0 ? undefined : Buffer.from(text);
}

export function compareFeeds(a: FeedState, b: FeedState): number {
  return Buffer.compare(a.bid, b.bid);
}

export function encodeSubscriptions(feeds: Iterable<FeedState>): Buffer {
  const parts: Buffer[] = [Buffer.of(SUBSCRIPTIONS_FORMAT)];
  for (const feed of [...feeds].sort(compareFeeds)) {
    const flags = (feed.blocked ? FLAG_BLOCKED : 0) | (feed.nameOverridden ? FLAG_NAME_OVERRIDDEN : 0);
    parts.push(feed.bid, feed.author, Buffer.of(flags));
    if (feed.blocked) continue;
    parts.push(
      encodeUleb(feed.size),
      encodeUleb(feed.size - feed.lastMessageOffset),
      encodeUleb(feed.size - feed.lastSeen),
      encodeUleb(feed.timestamp),
      feed.name ?? Buffer.alloc(0),
      Buffer.of(0),
      feed.lastMessage ?? Buffer.alloc(0),
      Buffer.of(0),
    );
  }
  return Buffer.concat(parts);
}

/** Parses the payload; throws RangeError for an unknown format version or malformed bytes. */
export function decodeSubscriptions(bytes: Buffer): FeedState[] {
  if (bytes.length === 0) throw new RangeError('empty subscriptions payload');
  if (bytes[0]! > SUBSCRIPTIONS_FORMAT) throw new RangeError(`unknown subscriptions format ${bytes[0]}`);
  const feeds: FeedState[] = [];
  let at = 1;
  const take = (n: number): Buffer => {
    if (at + n > bytes.length) throw new RangeError('truncated subscriptions payload');
    const slice = Buffer.from(bytes.subarray(at, at + n));
    at += n;
    return slice;
  };
  const uleb = (): number => {
    const value = decodeUleb(bytes, at);
    if (!value) throw new RangeError('truncated subscriptions payload');
    at = value.next;
    return Number(value.value);
  };
  const cString = (): Buffer | undefined => {
    const nul = bytes.indexOf(0, at);
    if (nul === -1) throw new RangeError('unterminated text in subscriptions payload');
    const text = bytes.subarray(at, nul);
    at = nul + 1;
    return feedText(text);
  };
  while (at < bytes.length) {
    const feed = newFeedState(take(ID_BYTES));
    feed.author = take(ID_BYTES);
    const flags = take(1)[0]!;
    feed.blocked = (flags & FLAG_BLOCKED) !== 0;
    feed.nameOverridden = (flags & FLAG_NAME_OVERRIDDEN) !== 0;
    if (!feed.blocked) {
      feed.size = uleb();
      const sinceMessage = uleb();
      const sinceSeen = uleb();
      if (sinceMessage > feed.size || sinceSeen > feed.size) throw new RangeError('inconsistent feed offsets');
      feed.lastMessageOffset = feed.size - sinceMessage;
      feed.lastSeen = feed.size - sinceSeen;
      feed.timestamp = uleb();
      feed.name = cString();
      feed.lastMessage = cString();
    }
    feeds.push(feed);
  }
  return feeds;
}
