/**
 * The newsince long-poll of a conversation (spec §1.11.5, §4.6): list the rows newer than the
 * token, then wait — on the store's notice of a new MeshMS2 ply of this pair (either direction,
 * from anywhere), not on a timer — reopen the conversation and list what is new, until the end
 * time. Each reopening acknowledges their new messages, as any opening does.
 */
import { toHex } from '../../formats/hex.js';
import type { Logger } from '../../log.js';
import type { RhizomeService } from '../rhizome/types.js';
import { MESHMS_SERVICE } from './bundles.js';
import type { Snapshot } from './conversations.js';
import { MessageIterator } from './iterator.js';
import { MessageWalk } from './message-walk.js';
import { failMeshms, MeshmsStatus } from './status.js';
import { Ply, type MeshmsPosition } from './token.js';
import type { MessageRow } from './types.js';

export interface FollowOptions {
  readonly rhizome: RhizomeService;
  readonly log: Logger;
  /** Opens the conversation (auto-ACK included) and reads it. */
  readonly open: () => Promise<Snapshot>;
  readonly my: Buffer;
  readonly their: Buffer;
  readonly from: MeshmsPosition | undefined;
  readonly until: number;
  readonly signal: AbortSignal;
}

/** Opens once (so failures reject before any row), then returns the rows as they come. */
export async function follow(o: FollowOptions): Promise<AsyncIterable<MessageRow>> {
  // Without a token the walk starts from the beginning of my ply: everything is listed.
  const walk = new MessageWalk(o.from ?? { which: Ply.MINE, offset: 0, theirAck: 0 });
  let changed = false;
  let wake: (() => void) | undefined;
  const unsubscribe = o.rhizome.subscribe((b) => {
    if (b.service !== MESHMS_SERVICE || !b.sender || !b.recipient) return;
    if ((b.sender.equals(o.my) && b.recipient.equals(o.their)) || (b.sender.equals(o.their) && b.recipient.equals(o.my))) {
      changed = true;
      wake?.();
    }
  });
  const reopen = async (): Promise<void> => {
    changed = false;
    const s = await o.open();
    if (walk.open(new MessageIterator(s.meta, s.my, s.their)) === 'fault') failMeshms(MeshmsStatus.PROTOCOL_FAULT);
  };
  try {
    await reopen();
  } catch (err) {
    unsubscribe();
    throw err;
  }
  const live = (): boolean => Date.now() < o.until && !o.signal.aborted;
  const sleep = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        o.signal.removeEventListener('abort', done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, o.until - Date.now()));
      o.signal.addEventListener('abort', done, { once: true });
      wake = done;
    });
  const where = { my: toHex(o.my), their: toHex(o.their) };

  return (async function* (): AsyncGenerator<MessageRow> {
    try {
      for (;;) {
        const end = yield* walk.rows(live);
        if (end === 'fault') o.log.warn(where, 'malformed MeshMS ply: newsince list cut short');
        if (end !== 'pause') return;
        // A ply that arrived while rows were being listed is looked at at once.
        if (!changed) await sleep();
        if (o.signal.aborted) return;
        try {
          await reopen();
        } catch (err) {
          // Too late for an error response (the identity was locked, a ply went bad): end here.
          o.log.warn({ ...where, err }, 'MeshMS newsince could not reopen the conversation: list ends');
          return;
        }
      }
    } finally {
      unsubscribe();
    }
  })();
}
