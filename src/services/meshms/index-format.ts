/**
 * The payload of the private conversation index (spec §7.12), format version 2:
 *
 *   0x02, then per conversation: their SID (32) ‖ flags (1, 0) ‖ uleb(their_size) ‖ uleb(my_size) ‖
 *   uleb(their_size − their_last_message) ‖ uleb(their_size − read_offset) ‖
 *   uleb(their_size − their_last_ack_offset) ‖ uleb(their_size − my_last_ack) ‖
 *   uleb(my_size − their_last_ack)
 *
 * Offsets near the end of a ply are small as deltas. Version 1 entries (SID and three ignored
 * varints) still load, with no offsets, which makes the plys be read again.
 */
import { decodeUleb, encodeUleb } from '../../formats/leb128.js';
import { emptyMetadata, type ConversationMetadata } from './conversation.js';

export interface IndexEntry {
  readonly them: Buffer;
  readonly meta: ConversationMetadata;
}

const SID_BYTES = 32;
/** The reference reads an entry through a window of this many bytes (SID + 12 × 3 + 1). */
const ENTRY_WINDOW = SID_BYTES + 12 * 3 + 1;

/**
 * The entries of an index payload. Like the reference, a payload that cannot be read is no
 * index at all, and a malformed entry ends the list (the entries before it stay).
 */
export function decodeIndex(payload: Buffer): IndexEntry[] {
  const entries: IndexEntry[] = [];
  const version = payload[0];
  if (version !== 1 && version !== 2) return entries;
  let at = 1;
  while (at < payload.length) {
    const end = Math.min(at + ENTRY_WINDOW, payload.length);
    if (end - at < SID_BYTES + 1) break;
    const them = Buffer.from(payload.subarray(at, at + SID_BYTES));
    const window = payload.subarray(0, end);
    let pos = at + SID_BYTES;
    const values: number[] = [];
    const wanted = version === 1 ? 3 : 7;
    if (version === 2) pos++; // flags, reserved
    for (let i = 0; i < wanted; i++) {
      const v = decodeUleb(window, pos);
      if (!v) return entries;
      values.push(Number(v.value));
      pos = v.next;
    }
    entries.push({ them, meta: version === 1 ? emptyMetadata() : metadataOf(values) });
    at = pos;
  }
  return entries;
}

function metadataOf(v: number[]): ConversationMetadata {
  const [theirSize, mySize, lastMessage, read, lastAckOffset, myAck, theirAck] = v as [number, number, number, number, number, number, number];
  // A delta larger than its size only comes from a damaged index: clamp rather than go negative.
  const from = (size: number, delta: number): number => Math.max(0, size - delta);
  return {
    theirSize,
    mySize,
    theirLastMessage: from(theirSize, lastMessage),
    readOffset: from(theirSize, read),
    theirLastAckOffset: from(theirSize, lastAckOffset),
    myLastAck: from(theirSize, myAck),
    theirLastAck: from(mySize, theirAck),
  };
}

/** The payload for these conversations, in order. */
export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  const parts: Buffer[] = [Buffer.of(2)];
  for (const { them, meta: m } of entries) {
    // The reference asserts these hold; an offset beyond its ply's size (a ply that shrank or
    // vanished from the store) is written as the size instead of aborting.
    const delta = (size: number, offset: number): Buffer => encodeUleb(Math.max(0, size - offset));
    parts.push(
      them,
      Buffer.of(0),
      encodeUleb(m.theirSize),
      encodeUleb(m.mySize),
      delta(m.theirSize, m.theirLastMessage),
      delta(m.theirSize, m.readOffset),
      delta(m.theirSize, m.theirLastAckOffset),
      delta(m.theirSize, m.myLastAck),
      delta(m.mySize, m.theirLastAck),
    );
  }
  return Buffer.concat(parts);
}
