/**
 * The MeshMB service contract (spec §5), as the HTTP handlers and the CLI see it.
 *
 * A feed is a Rhizome journal signed with its author's signing key, so its Bundle ID is the
 * author's Signing ID. Identities are named by Signing ID too. Texts are bytes as stored (UTF-8 by
 * convention, never checked). Every operation on one identity runs alone, in arrival order.
 *
 * Failures: an `id` that is not an unlocked identity is MESHMB_IDENTITY_LOCKED (419); a store that
 * refuses a write is MESHMB_WRITE_FAILED (500) or RHIZOME_BUSY (423).
 */

/** One followed or blocked feed, as `feedlist.json` lists it (spec §5.6). */
export interface FeedDetails {
  /** The feed's Bundle ID (= its author's Signing ID). */
  readonly id: Buffer;
  /** The author's SID; 32 zero bytes while unknown. */
  readonly author: Buffer;
  readonly blocked: boolean;
  /** The feed's name, or the name given when following; at most 255 bytes. */
  readonly name: Buffer | undefined;
  /** Seconds of the newest message, 0 if unknown. */
  readonly timestamp: number;
  /** The newest message, at most 255 bytes. */
  readonly lastMessage: Buffer | undefined;
}

/** A message of a feed (spec §5.4). */
export interface FeedMessage {
  /** End offset of the MESSAGE record in the feed. */
  readonly offset: number;
  readonly text: Buffer;
  /** Seconds of the TIME record that follows the message (0 if none). */
  readonly timestamp: number;
}

/** Where an activity row sits: end offsets of its journal ACK and of its message (spec §7.14.4). */
export interface ActivityPosition {
  readonly ack: number;
  readonly msg: number;
}

/** A row of `activity.json` (spec §5.7). */
export interface ActivityItem {
  readonly position: ActivityPosition;
  readonly feed: Buffer;
  /** The feed author's SID (32 zero bytes if the feed manifest names none). */
  readonly author: Buffer;
  /** The feed manifest's name. */
  readonly name: Buffer | undefined;
  /** Seconds of the journal TIME record after the ACK batch: when the message was noticed here. */
  readonly timestamp: number;
  readonly text: Buffer;
}

/** Keep listing as things arrive until `until` (ms since the epoch) or until `signal` aborts. */
export interface LiveOptions {
  readonly until: number;
  readonly signal: AbortSignal;
}

export type Rows<T> = readonly T[] | AsyncIterable<T>;

export interface MessageList {
  /** The feed manifest's name, when it has a non-empty one. */
  readonly name: Buffer | undefined;
  /** Newest first; an array unless live. */
  readonly rows: Rows<FeedMessage>;
}

export interface FollowOptions {
  /** A name to show for the feed instead of its own (at most 255 bytes are kept). */
  readonly name?: Buffer;
  /** The author's SID, used while the feed itself has not arrived. */
  readonly author?: Buffer;
}

export interface MeshmbService {
  /** Appends a message (at most MAX_MESSAGE_BYTES, cut at a NUL) to the identity's own feed. */
  send(id: Buffer, text: Buffer): Promise<void>;
  follow(id: Buffer, feed: Buffer, options?: FollowOptions): Promise<void>;
  /** Forgets a feed, followed or blocked; nothing happens if it was neither. */
  ignore(id: Buffer, feed: Buffer): Promise<void>;
  /** Blocks a feed: it is no longer read, and its messages leave the activity view. */
  block(id: Buffer, feed: Buffer, options?: { readonly author?: Buffer }): Promise<void>;
  /** Followed and blocked feeds, ordered by Bundle ID. */
  feeds(id: Buffer): Promise<FeedDetails[]>;
  /** A feed's messages newer than `after` (an offset; default all). An unknown feed has none. */
  messages(feed: Buffer, options?: { readonly after?: number; readonly live?: LiveOptions }): Promise<MessageList>;
  /** Activity newest first, above `after` (default all). Fails before returning if `id` is locked. */
  activity(id: Buffer, options?: { readonly after?: ActivityPosition; readonly live?: LiveOptions }): Promise<Rows<ActivityItem>>;
}
