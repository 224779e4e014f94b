/**
 * The MeshMS service contract (spec §4), as the HTTP handlers and the CLI see it. SIDs are 32-byte
 * buffers; failures are TendrilErrors carrying the MeshMS status members (src/services/meshms/
 * status.ts): 419 "Identity locked" when MYSID is not an unlocked identity, 500 on a protocol fault.
 *
 * Like the reference, reading is not free of side effects: every operation that opens a
 * conversation first acknowledges their new messages (an ACK record appended to my ply) and
 * rewrites my private conversation index.
 */
import type { MeshmsPosition } from './token.js';

/** One row of conversationlist.json (spec §4.4). */
export interface ConversationSummary {
  readonly them: Buffer;
  /** read_offset ≥ their_last_message (true when they never wrote). */
  readonly read: boolean;
  /** End offset of their most recent message (0 when none). */
  readonly lastMessage: number;
  readonly readOffset: number;
}

/** One row of messagelist.json (spec §4.5), without the two SIDs every row repeats. */
export interface MessageRow {
  /** `>` sent, `<` received, `ACK` the single synthetic "delivered up to here" row. */
  readonly type: '>' | '<' | 'ACK';
  readonly myOffset: number;
  readonly theirOffset: number;
  /** newsince token of this row (spec §7.14.2). */
  readonly token: string;
  /** The text as stored (bytes before the first NUL, not validated as UTF-8); null for ACK. */
  readonly text: Buffer | null;
  readonly delivered: boolean;
  readonly read: boolean;
  /** Seconds of the TIME record that follows it in my ply (0 if none); null for ACK. */
  readonly timestamp: number | null;
  /** their_last_ack, on the ACK row only. */
  readonly ackOffset: number | null;
}

export interface MessageList {
  /** My read marker in their ply. */
  readonly readOffset: number;
  /** Where in my ply their latest ACK points (`latest_ack_offset`). */
  readonly latestAckOffset: number;
  /** Newest first. A ply found malformed part way ends the rows there (logged). */
  readonly rows: Iterable<MessageRow>;
}

/**
 * The reads below take `record`: true (the default) stores the acknowledgements and the index they
 * compute, as the reference does; false (read-only credentials) computes the same answer and
 * stores nothing, so a read-only client changes nothing another client, or the other party of a
 * conversation, can observe.
 */
export interface MeshmsService {
  /** conversationlist.json: every conversation of `my`, after acknowledging their new messages. */
  conversations(my: Buffer, record?: boolean): Promise<readonly ConversationSummary[]>;
  /** messagelist.json. Rejects before any row if the newest entry is malformed (protocol fault). */
  messages(my: Buffer, their: Buffer, record?: boolean): Promise<MessageList>;
  /**
   * newsince: the rows newer than `from` (everything without it), then new rows as messages and
   * acknowledgements arrive, until `until` (ms since the epoch) or `signal` aborts. The first
   * opening happens before this resolves, so a locked identity rejects rather than streams.
   */
  follow(my: Buffer, their: Buffer, from: MeshmsPosition | undefined, until: number, signal: AbortSignal, record?: boolean): Promise<AsyncIterable<MessageRow>>;
  /**
   * Appends [ACK] MESSAGE [TIME] to my ply (creating it on the first message) and rewrites my
   * conversation index. `text` is stored up to its first NUL; more than MAX_MESSAGE_BYTES before
   * it is refused (400).
   */
  send(my: Buffer, their: Buffer, text: Buffer): Promise<void>;
  /**
   * Moves read markers forward to `offset` (clamped to their last message): one conversation, or
   * all of them when `their` is undefined. True when anything changed (a marker, or an ACK
   * written on the way), i.e. 201 rather than 200.
   */
  markRead(my: Buffer, their: Buffer | undefined, offset: bigint): Promise<boolean>;
}

export type { MeshmsPosition } from './token.js';
