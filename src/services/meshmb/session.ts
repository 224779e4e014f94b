/**
 * One identity's MeshMB state while requests use it (the reference's "session", spec §5.1): the
 * followed and blocked feeds, loaded from the subscriptions bundle, and the ACKs noticed but not
 * yet written to the activity journal. Opening it re-reads every followed feed, so messages that
 * arrived meanwhile are noticed. The service runs at most one method of a session at a time.
 */
import {
  meshmbActivitySeedString,
  meshmbSubscriptionsSeedString,
  seededBundleKeyPair,
  type BundleKeyPair,
} from '../../crypto/bundle-keys.js';
import { fail } from '../../errors.js';
import { MAX_MESSAGE_BYTES, encodeMessage, encodeTime } from '../../formats/ply.js';
import type { Logger } from '../../log.js';
import type { Identity, KeyringService } from '../keyring/types.js';
import type { RhizomeService } from '../rhizome/types.js';
import { activityBatch, feedPrefixLength, type ActivitySource, type NoticedRange } from './activity.js';
import { appendJournal, feedManifest, insertPrivate, privateManifest, readFeed, readPrivate } from './bundles.js';
import { noticeFeed } from './feeds.js';
import { compareFeeds, decodeSubscriptions, encodeSubscriptions, feedText, newFeedState, type FeedState } from './subscriptions.js';
import type { FeedDetails, FollowOptions } from './types.js';

export interface SessionDeps {
  readonly rhizome: RhizomeService;
  readonly keyring: KeyringService;
  readonly log: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** rhizome.reliable_clock: whether TIME records are written. */
  readonly reliableClock: () => boolean;
}

const key = (bid: Buffer): string => bid.toString('hex');
const isZero = (bytes: Buffer): boolean => bytes.every((b) => b === 0);

export class Session {
  readonly subscriptionKeys: BundleKeyPair;
  readonly journalKeys: BundleKeyPair;
  private readonly feeds = new Map<string, FeedState>();
  private pending: NoticedRange[] = [];
  private dirty = false;
  /** Version of the stored subscriptions bundle; undefined while there is none. */
  private storedVersion: bigint | undefined;

  private constructor(
    readonly id: Buffer,
    signingSeed: Buffer,
    private readonly deps: SessionDeps,
  ) {
    this.subscriptionKeys = seededBundleKeyPair(meshmbSubscriptionsSeedString(signingSeed));
    this.journalKeys = seededBundleKeyPair(meshmbActivitySeedString(signingSeed));
  }

  static async open(identity: Identity, deps: SessionDeps): Promise<Session> {
    const session = new Session(identity.signingId, identity.signingSecret.subarray(0, 32), deps);
    await session.load();
    for (const feed of session.feeds.values()) await session.notice(feed);
    return session;
  }

  private async load(): Promise<void> {
    const stored = await readPrivate(this.deps.rhizome, this.subscriptionKeys);
    if (!stored) return;
    this.storedVersion = stored.version;
    if (!stored.bytes) {
      this.deps.log.warn({ id: this.id.toString('hex') }, 'MeshMB subscriptions payload is missing; starting afresh');
      return;
    }
    let feeds: FeedState[];
    try {
      feeds = decodeSubscriptions(stored.bytes);
    } catch (err) {
      // Rewriting it would lose whatever it holds: refuse until it is repaired or replaced.
      fail('MESHMB_SUBSCRIPTIONS_UNREADABLE', { cause: err });
    }
    for (const feed of feeds) this.feeds.set(key(feed.bid), feed);
  }

  /** Re-reads a followed feed; true if anything changed. */
  private async notice(state: FeedState): Promise<boolean> {
    if (state.blocked) return false;
    const feed = await readFeed(this.deps.rhizome, state.bid);
    if (!feed) return false;
    const { changed, range } = noticeFeed(state, feed);
    if (range) {
      const others = [...this.feeds.values()].map((f) => f.bid);
      this.pending.push({ ...range, prefix: state.bid.subarray(0, feedPrefixLength(state.bid, others)) });
    }
    if (changed) this.dirty = true;
    return changed;
  }

  /** A followed (not blocked) feed. */
  follows(bid: Buffer): boolean {
    const state = this.feeds.get(key(bid));
    return state !== undefined && !state.blocked;
  }

  /** A feed of this identity has grown: notice it. True if anything changed. */
  async update(bid: Buffer): Promise<boolean> {
    const state = this.feeds.get(key(bid));
    return state ? this.notice(state) : false;
  }

  private seconds(): number | undefined {
    return this.deps.reliableClock() ? Math.floor(this.deps.now() / 1000) : undefined;
  }

  /** Appends MESSAGE (+ TIME) to the identity's feed, named as the keyring names it now (§5.3). */
  async send(message: Buffer): Promise<void> {
    const identity = this.deps.keyring.findBySigningId(this.id) ?? fail('MESHMB_IDENTITY_LOCKED');
    const nul = message.indexOf(0);
    const text = nul === -1 ? message : message.subarray(0, nul);
    if (text.length > MAX_MESSAGE_BYTES) fail('MESHMB_MESSAGE_TOO_LONG');
    const seconds = this.seconds();
    const bytes = Buffer.concat([encodeMessage(text), seconds === undefined ? Buffer.alloc(0) : encodeTime(seconds)]);
    const manifest = feedManifest(this.id, identity.sid, identity.name);
    const stored = await appendJournal(this.deps.rhizome, identity.signingSecret.subarray(0, 32), manifest, bytes);
    const size = Number(stored.manifest.filesize ?? 0n);
    this.pending.push({ prefix: undefined, start: size - bytes.length, end: size });
  }

  async follow(bid: Buffer, options: FollowOptions = {}): Promise<void> {
    let state = this.feeds.get(key(bid));
    if (!state) {
      state = newFeedState(Buffer.from(bid));
      this.feeds.set(key(bid), state);
      this.dirty = true;
    }
    await this.notice(state);
    if (options.author && isZero(state.author)) {
      state.author = Buffer.from(options.author);
      this.dirty = true;
    }
    if (options.name !== undefined) {
      const name = feedText(options.name);
      if (!sameText(name, state.name)) {
        state.name = name;
        state.nameOverridden = true;
        this.dirty = true;
      }
    }
  }

  ignore(bid: Buffer): void {
    if (this.feeds.delete(key(bid))) this.dirty = true;
  }

  block(bid: Buffer, options: { readonly author?: Buffer } = {}): void {
    let state = this.feeds.get(key(bid));
    if (!state) {
      state = newFeedState(Buffer.from(bid));
      this.feeds.set(key(bid), state);
      this.dirty = true;
    }
    if (options.author && isZero(state.author)) {
      state.author = Buffer.from(options.author);
      this.dirty = true;
    }
    if (!state.blocked) this.dirty = true;
    state.blocked = true;
    state.name = undefined;
    state.lastMessage = undefined;
    state.timestamp = 0;
  }

  feedList(): FeedDetails[] {
    return [...this.feeds.values()].sort(compareFeeds).map((f) => ({
      id: f.bid,
      author: f.author,
      blocked: f.blocked,
      name: f.name,
      timestamp: f.timestamp,
      lastMessage: f.lastMessage,
    }));
  }

  /**
   * Writes what changed: noticed ranges to the activity journal (one TIME after them), then the
   * subscriptions. If the journal cannot be written the ranges stay queued and the subscriptions
   * are not written either, so a session opened later still finds those feeds grown and notices
   * them again.
   */
  async flush(): Promise<void> {
    const { rhizome, now } = this.deps;
    if (this.pending.length > 0) {
      const batch = activityBatch(this.pending, this.seconds());
      await appendJournal(rhizome, this.journalKeys.secret, privateManifest(this.journalKeys), batch);
      this.pending = [];
    }
    if (this.dirty) {
      const version = this.storedVersion === undefined ? BigInt(now()) : this.storedVersion + 1n;
      await insertPrivate(rhizome, this.subscriptionKeys, version, encodeSubscriptions(this.feeds.values()));
      this.storedVersion = version;
      this.dirty = false;
    }
  }

  /** The activity journal as stored now, with the feeds it refers to. */
  async activitySource(): Promise<ActivitySource> {
    const { rhizome } = this.deps;
    const journal = await readPrivate(rhizome, this.journalKeys);
    return {
      journal: journal?.bytes ?? Buffer.alloc(0),
      ownFeed: this.id,
      feeds: [...this.feeds.values()].map((f) => ({ ...f })),
      readFeed: (bid) => readFeed(rhizome, bid),
    };
  }
}

function sameText(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
