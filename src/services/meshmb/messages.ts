/**
 * A feed's message list and its long-poll (spec §5.4, §5.5). Reading a feed needs no session: any
 * feed in the store can be listed.
 */
import type { Logger } from '../../log.js';
import type { RhizomeService } from '../rhizome/types.js';
import { FEED_SERVICE, readFeed, type StoredFeed } from './bundles.js';
import { feedMessages } from './feeds.js';
import type { FeedMessage, LiveOptions, MessageList } from './types.js';
import { Waiter } from './waiter.js';

export async function listMessages(
  rhizome: RhizomeService,
  log: Logger,
  feed: Buffer,
  options: { readonly after?: number; readonly live?: LiveOptions },
): Promise<MessageList> {
  const after = options.after ?? 0;
  const live = options.live;
  if (!live) {
    const stored = await readFeed(rhizome, feed);
    return { name: stored?.name, rows: stored ? feedMessages(stored.bytes, after) : [] };
  }
  // Listen before the first read, so nothing stored in between is missed.
  const waiter = new Waiter();
  const stop = rhizome.subscribe((b) => {
    if (b.service === FEED_SERVICE && b.bid.equals(feed)) waiter.notify();
  });
  live.signal.addEventListener('abort', stop, { once: true });
  try {
    const first = await readFeed(rhizome, feed);
    return { name: first?.name, rows: liveMessages(rhizome, log, feed, first, after, live, waiter, stop) };
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * Each pass lists the messages beyond the feed's length at the start of the pass before (the
 * first pass, those beyond the token), newest first; a feed not yet stored counts as empty.
 */
async function* liveMessages(
  rhizome: RhizomeService,
  log: Logger,
  feed: Buffer,
  first: StoredFeed | undefined,
  after: number,
  live: LiveOptions,
  waiter: Waiter,
  stop: () => void,
): AsyncGenerator<FeedMessage> {
  try {
    let current = first;
    let bound = after;
    let seen = 0;
    for (;;) {
      if (current) {
        yield* feedMessages(current.bytes, bound);
        seen = current.bytes.length;
      }
      bound = seen;
      if (!(await waiter.wait(live.until, live.signal))) return;
      waiter.reset();
      current = await readFeed(rhizome, feed);
    }
  } catch (err) {
    // The table has begun: end it properly rather than cut the connection.
    log.warn({ err }, 'MeshMB message list long-poll ended early');
  } finally {
    stop();
  }
}
