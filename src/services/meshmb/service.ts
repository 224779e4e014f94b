/**
 * The MeshMB service (spec §5): sessions shared by the requests of one identity, every operation
 * on an identity run alone (KeyedQueue), and the activity long-poll (message lists: messages.ts).
 *
 * As in the reference, an identity's session lives while requests use it: opening it re-reads the
 * followed feeds, and while it is open a followed feed that arrives in the store is noticed at
 * once (ACKed into the activity journal), which is what wakes activity long-polls.
 */
import { fail } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ListedBundle } from '../../store/rhizome/types.js';
import type { KeyringService } from '../keyring/types.js';
import type { RhizomeService } from '../rhizome/types.js';
import { walkActivity, type ActivitySource } from './activity.js';
import { FEED_SERVICE } from './bundles.js';
import { KeyedQueue } from '../keyed-queue.js';
import { listMessages } from './messages.js';
import { Session, type SessionDeps } from './session.js';
import type {
  ActivityItem,
  ActivityPosition,
  FeedDetails,
  LiveOptions,
  MeshmbService,
  MessageList,
  Rows,
} from './types.js';
import { Waiter } from './waiter.js';

export interface MeshmbServiceOptions {
  readonly rhizome: RhizomeService;
  readonly keyring: KeyringService;
  readonly log: Logger;
  readonly now?: () => number;
  /** rhizome.reliable_clock, read at each write (default true). */
  readonly reliableClock?: () => boolean;
}

interface SessionEntry {
  refs: number;
  readonly ready: Promise<Session>;
  /** Woken when the identity's activity journal is stored. */
  readonly waiters: Set<Waiter>;
}

interface Lease {
  readonly session: Session;
  readonly entry: SessionEntry;
  /** Idempotent. */
  readonly release: () => void;
}

const keyOf = (id: Buffer): string => id.toString('hex');

class Meshmb implements MeshmbService {
  private readonly deps: SessionDeps;
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly lock = new KeyedQueue();
  private unsubscribe: (() => void) | undefined;

  constructor(options: MeshmbServiceOptions) {
    this.deps = {
      rhizome: options.rhizome,
      keyring: options.keyring,
      log: options.log,
      now: options.now ?? Date.now,
      reliableClock: options.reliableClock ?? (() => true),
    };
  }

  /** Opens the identity's session, or shares the one already open. */
  private async acquire(id: Buffer): Promise<Lease> {
    const identity = this.deps.keyring.findBySigningId(id) ?? fail('MESHMB_IDENTITY_LOCKED');
    const key = keyOf(id);
    let entry = this.sessions.get(key);
    if (!entry) {
      const created: SessionEntry = { refs: 0, ready: this.lock.run(key, () => Session.open(identity, this.deps)), waiters: new Set() };
      entry = created;
      this.sessions.set(key, created);
      this.listen();
    }
    const held = entry;
    held.refs++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (--held.refs === 0 && this.sessions.get(key) === held) {
        this.sessions.delete(key);
        if (this.sessions.size === 0) this.unlisten();
      }
    };
    try {
      return { session: await held.ready, entry: held, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Runs `task` on the identity's session, alone, then writes what it changed. */
  private async change<T>(id: Buffer, task: (session: Session) => T | Promise<T>): Promise<T> {
    const { session, release } = await this.acquire(id);
    try {
      return await this.lock.run(keyOf(id), async () => {
        const result = await task(session);
        await session.flush();
        return result;
      });
    } finally {
      release();
    }
  }

  private listen(): void {
    this.unsubscribe ??= this.deps.rhizome.subscribe((bundle) => this.stored(bundle));
  }

  private unlisten(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** A bundle was stored: a followed feed is noticed by each open session that follows it. */
  private stored(bundle: ListedBundle): void {
    for (const [key, entry] of this.sessions) {
      void entry.ready.then(
        async (session) => {
          if (bundle.bid.equals(session.journalKeys.bid)) {
            for (const waiter of entry.waiters) waiter.notify();
          } else if (bundle.service === FEED_SERVICE && session.follows(bundle.bid)) {
            await this.lock.run(key, async () => {
              // A session closed meanwhile is stale: the next one to open notices the feed itself.
              if (this.sessions.get(key) !== entry) return;
              if (await session.update(bundle.bid)) await session.flush();
            });
          }
        },
        () => undefined,
      ).catch((err: unknown) => this.deps.log.warn({ err }, 'MeshMB could not notice a feed update'));
    }
  }

  send(id: Buffer, text: Buffer): Promise<void> {
    return this.change(id, (s) => s.send(text));
  }

  follow(id: Buffer, feed: Buffer, options?: { name?: Buffer; author?: Buffer }): Promise<void> {
    return this.change(id, (s) => s.follow(feed, options));
  }

  ignore(id: Buffer, feed: Buffer): Promise<void> {
    return this.change(id, (s) => s.ignore(feed));
  }

  block(id: Buffer, feed: Buffer, options?: { author?: Buffer }): Promise<void> {
    return this.change(id, (s) => s.block(feed, options));
  }

  feeds(id: Buffer): Promise<FeedDetails[]> {
    return this.change(id, (s) => s.feedList());
  }

  messages(feed: Buffer, options: { after?: number; live?: LiveOptions } = {}): Promise<MessageList> {
    return listMessages(this.deps.rhizome, this.deps.log, feed, options);
  }

  async activity(id: Buffer, options: { after?: ActivityPosition; live?: LiveOptions } = {}): Promise<Rows<ActivityItem>> {
    const lease = await this.acquire(id);
    const live = options.live;
    if (!live) {
      try {
        const source = await this.activitySource(id, lease.session);
        const rows: ActivityItem[] = [];
        for await (const item of walkActivity(source, options.after)) rows.push(item);
        return rows;
      } finally {
        lease.release();
      }
    }
    // The session stays open, noticing followed feeds, until the long-poll ends.
    const waiter = new Waiter();
    lease.entry.waiters.add(waiter);
    const release = (): void => {
      lease.entry.waiters.delete(waiter);
      lease.release();
    };
    live.signal.addEventListener('abort', release, { once: true });
    try {
      const source = await this.activitySource(id, lease.session);
      return this.liveActivity(id, lease.session, source, options.after, live, waiter, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  private activitySource(id: Buffer, session: Session): Promise<ActivitySource> {
    return this.lock.run(keyOf(id), async () => {
      await session.flush();
      return session.activitySource();
    });
  }

  /**
   * The first pass lists activity above the token; each later pass what the journal gained since
   * the start of the pass before (spec §5.7).
   */
  private async *liveActivity(
    id: Buffer,
    session: Session,
    first: ActivitySource,
    after: ActivityPosition | undefined,
    live: LiveOptions,
    waiter: Waiter,
    release: () => void,
  ): AsyncGenerator<ActivityItem> {
    try {
      let source = first;
      let bound = after;
      for (;;) {
        yield* walkActivity(source, bound);
        bound = { ack: source.journal.length, msg: 0 };
        if (!(await waiter.wait(live.until, live.signal))) return;
        waiter.reset();
        source = await this.activitySource(id, session);
      }
    } catch (err) {
      // The table has begun: end it properly rather than cut the connection.
      this.deps.log.warn({ err }, 'MeshMB activity long-poll ended early');
    } finally {
      release();
    }
  }
}

export function createMeshmbService(options: MeshmbServiceOptions): MeshmbService {
  return new Meshmb(options);
}
