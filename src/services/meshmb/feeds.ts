/**
 * Reading a feed's ply (spec §5.4, §7.11): its messages, newest first, and what a subscriber
 * notices when the feed has grown since it last looked (the reference's update_stats).
 */
import { RecordType, decodeMessage, recordsBackward } from '../../formats/ply.js';
import type { NoticedRange } from './activity.js';
import type { StoredFeed } from './bundles.js';
import { feedText, type FeedState } from './subscriptions.js';
import type { FeedMessage } from './types.js';

/** A TIME record's seconds; the reference reads the first four bytes of any record that long. */
function timeOf(content: Buffer): number | undefined {
  return content.length >= 4 ? content.readUInt32LE(0) : undefined;
}

/** A MESSAGE record's text: up to its NUL (all of it if the NUL is missing). */
export function messageText(content: Buffer): Buffer {
  return decodeMessage(content) ?? content;
}

/**
 * The messages ending after `after`, newest first. Each carries the time of the newest TIME record
 * read before it, i.e. the one that follows it in the ply.
 */
export function feedMessages(ply: Buffer, after = 0): FeedMessage[] {
  const messages: FeedMessage[] = [];
  let timestamp = 0;
  for (const record of recordsBackward(ply)) {
    if (record.end <= after) break;
    if (record.type === RecordType.TIME) timestamp = timeOf(record.content) ?? timestamp;
    else if (record.type === RecordType.MESSAGE) messages.push({ offset: record.end, text: messageText(record.content), timestamp });
  }
  return messages;
}

/**
 * Brings a followed feed's state up to date with the stored feed. Returns the range to ACK in the
 * activity journal when a new message arrived (`prefix` still to be filled in), or undefined;
 * `changed` says whether the state changed at all.
 */
export function noticeFeed(state: FeedState, feed: StoredFeed): { changed: boolean; range?: Omit<NoticedRange, 'prefix'> } {
  const size = feed.bytes.length;
  if (state.blocked || state.size === size) return { changed: false };
  state.author = feed.author;
  if (!state.nameOverridden) state.name = feedText(feed.name);
  let lastOffset = state.lastMessageOffset;
  let timestamp = 0;
  for (const record of recordsBackward(feed.bytes)) {
    if (record.end <= state.size) break;
    if (record.type === RecordType.TIME) {
      timestamp = timeOf(record.content) ?? timestamp;
    } else if (record.type === RecordType.MESSAGE) {
      if (record.end === state.lastMessageOffset) break;
      lastOffset = record.end;
      state.lastMessage = feedText(messageText(record.content));
      state.timestamp = timestamp;
      break;
    }
  }
  const range = lastOffset > state.lastMessageOffset ? { start: state.size, end: size } : undefined;
  state.lastMessageOffset = lastOffset;
  state.size = size;
  return { changed: true, range };
}
