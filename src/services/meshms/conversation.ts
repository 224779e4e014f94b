/**
 * A conversation as MeshMS tracks it (spec §4.1): the pair of plys and the offsets kept in the
 * private conversation index, and how those offsets are brought up to date from the plys
 * (the reference's update_their_stats / update_my_stats).
 */
import { RecordType } from '../../formats/ply.js';
import { parseAck, PlyCursor } from './ply-cursor.js';

/** The offsets of one conversation; all byte offsets of record ends (spec §4.1). */
export interface ConversationMetadata {
  /** End of their most recent MESSAGE. */
  theirLastMessage: number;
  /** End (in their ply) of their most recent ACK. */
  theirLastAckOffset: number;
  /** Where in my ply their latest ACK points: my messages up to here are delivered. */
  theirLastAck: number;
  /** My read marker in their ply. */
  readOffset: number;
  /** Size of their ply when these offsets were taken. */
  theirSize: number;
  /** Where in their ply my latest ACK points. */
  myLastAck: number;
  /** Size of my ply when these offsets were taken. */
  mySize: number;
}

export function emptyMetadata(): ConversationMetadata {
  return { theirLastMessage: 0, theirLastAckOffset: 0, theirLastAck: 0, readOffset: 0, theirSize: 0, myLastAck: 0, mySize: 0 };
}

/** One half of a conversation as found in the store (MeshMS2 journal bundle). */
export interface PlyRef {
  readonly bid: Buffer;
  readonly version: bigint;
  /** Stored payload size (the tail of a MeshMS ply is always 0). */
  readonly size: number;
}

export interface Conversation {
  readonly them: Buffer;
  my: PlyRef | undefined;
  their: PlyRef | undefined;
  meta: ConversationMetadata;
}

/**
 * Their new MESSAGE and ACK records since `theirSize` (update_their_stats): walks their ply back
 * from the end, stopping at records already seen, keeping the newest of each. `ply` is their
 * decrypted payload (empty when they have no ply). Returns true when anything was looked at.
 */
export function updateTheirStats(meta: ConversationMetadata, size: number, ply: Buffer): boolean {
  if (meta.theirSize === size) return false;
  const cursor = new PlyCursor(ply);
  let foundMessage = false;
  let foundAck = false;
  while ((!foundMessage || !foundAck) && cursor.prev()) {
    if (cursor.recordEnd <= meta.theirSize) break;
    if (cursor.type === RecordType.MESSAGE && !foundMessage) {
      foundMessage = true;
      meta.theirLastMessage = cursor.recordEnd;
    } else if (cursor.type === RecordType.ACK && !foundAck) {
      foundAck = true;
      meta.theirLastAckOffset = cursor.recordEnd;
      meta.theirLastAck = parseAck(cursor.record).end;
    }
  }
  meta.theirSize = size;
  return true;
}

/**
 * My latest ACK (update_my_stats): the last ACK record anywhere in my ply. With none, nothing is
 * acknowledged (the reference keeps the index's value, which only a stale index makes non-zero:
 * then their messages would never be acknowledged).
 */
export function updateMyStats(meta: ConversationMetadata, size: number, ply: Buffer): boolean {
  if (meta.mySize === size) return false;
  const cursor = new PlyCursor(ply);
  meta.myLastAck = cursor.findPrev(RecordType.ACK) ? parseAck(cursor.record).end : 0;
  meta.mySize = size;
  return true;
}
