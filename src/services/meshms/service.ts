/**
 * The MeshMS service (spec §4): conversations between an unlocked identity and any SID, kept as
 * two plys (one per author) and a private conversation index per identity. Each operation runs
 * the reference's sequence (src/services/meshms/conversations.ts) one at a time per identity:
 * the index is the identity's, so two operations at once would each rewrite it from what the
 * other replaces, and concurrent appends to one ply would lose records.
 */
import { fail, isTendrilError } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { encodeMessage, MAX_MESSAGE_BYTES } from '../../formats/ply.js';
import type { Logger } from '../../log.js';
import type { Identity, KeyringService } from '../keyring/types.js';
import type { RhizomeService } from '../rhizome/types.js';
import { MeshmsBundles } from './bundles.js';
import { emptyMetadata } from './conversation.js';
import { Conversations, timeRecordOf, type Snapshot } from './conversations.js';
import { follow } from './follow.js';
import { MessageIterator } from './iterator.js';
import { MessageWalk } from './message-walk.js';
import { KeyedQueue } from '../keyed-queue.js';
import { failMeshms, MeshmsStatus } from './status.js';
import type { MeshmsPosition } from './token.js';
import type { ConversationSummary, MeshmsService, MessageList, MessageRow } from './types.js';

export interface MeshmsServiceInit {
  readonly keyring: KeyringService;
  readonly rhizome: RhizomeService;
  readonly log: Logger;
  /** rhizome.reliable_clock, read per record: off means no TIME records (spec §7.11.2). */
  readonly reliableClock: () => boolean;
  readonly now?: () => number;
  /** Memory for decrypted plys and indexes (default 64 MiB). */
  readonly cacheBytes?: number;
}

class Meshms implements MeshmsService {
  private readonly serial = new KeyedQueue();
  private readonly convs: Conversations;
  private readonly timeRecord: () => Buffer | undefined;

  constructor(private readonly init: MeshmsServiceInit) {
    const now = init.now ?? Date.now;
    const bundles = new MeshmsBundles(init.rhizome, init.log, init.cacheBytes ?? 64 * 1024 * 1024);
    this.timeRecord = timeRecordOf(init.reliableClock, now);
    this.convs = new Conversations(bundles, init.log, this.timeRecord, now);
  }

  conversations(my: Buffer, record = true): Promise<readonly ConversationSummary[]> {
    return this.locked(my, async (me) => {
      const list = await this.convs.open(me);
      const { updated, appends } = await this.convs.updateAll(list, record);
      // Here a failed index write fails the request (meshms_save_list).
      if (updated && record) await this.convs.commit(list, appends, 'required');
      return list.convs.map((c) => ({
        them: c.them,
        read: c.meta.readOffset >= c.meta.theirLastMessage,
        lastMessage: c.meta.theirLastMessage,
        readOffset: c.meta.readOffset,
      }));
    });
  }

  async messages(my: Buffer, their: Buffer, record = true): Promise<MessageList> {
    const s = await this.locked(my, (me) => this.openConversation(me, their, record));
    const walk = new MessageWalk();
    if (walk.open(new MessageIterator(s.meta, s.my, s.their)) === 'fault') failMeshms(MeshmsStatus.PROTOCOL_FAULT);
    const log = this.init.log;
    function* rows(): Generator<MessageRow> {
      const end = yield* walk.rows(() => false);
      // Too late for an error response: the list ends where the ply stops making sense.
      if (end === 'fault') log.warn({ my: toHex(my), their: toHex(their) }, 'malformed MeshMS ply: message list cut short');
    }
    return { readOffset: s.meta.readOffset, latestAckOffset: s.meta.theirLastAck, rows: rows() };
  }

  follow(my: Buffer, their: Buffer, from: MeshmsPosition | undefined, until: number, signal: AbortSignal, record = true): Promise<AsyncIterable<MessageRow>> {
    const open = (): Promise<Snapshot> => this.locked(my, (me) => this.openConversation(me, their, record));
    return follow({ rhizome: this.init.rhizome, log: this.init.log, open, my, their, from, until, signal });
  }

  send(my: Buffer, their: Buffer, text: Buffer): Promise<void> {
    const nul = text.indexOf(0);
    const stored = nul === -1 ? text : text.subarray(0, nul);
    if (stored.length > MAX_MESSAGE_BYTES) fail('MESHMS_MESSAGE_TOO_LONG');
    return this.locked(my, async (me) => {
      const list = await this.convs.open(me);
      let c = list.convs.find((x) => x.them.equals(their));
      if (!c) {
        c = { them: Buffer.from(their), my: undefined, their: undefined, meta: emptyMetadata() };
        list.convs.unshift(c);
      }
      await this.convs.refresh(c);
      const time = this.timeRecord();
      // [ACK of what they wrote since my last] MESSAGE [TIME], in one append (spec §7.11.2).
      const append = this.convs.plan(c, time ? [encodeMessage(stored), time] : [encodeMessage(stored)], true);
      // The message is sent whatever happens to the index; the next operation rebuilds it.
      await this.convs.commit(list, [append], 'best-effort');
    });
  }

  markRead(my: Buffer, their: Buffer | undefined, offset: bigint): Promise<boolean> {
    return this.locked(my, async (me) => {
      const list = await this.convs.open(me);
      const { updated, appends } = await this.convs.updateAll(list);
      let changed = updated;
      for (const c of list.convs) {
        if (their && !c.them.equals(their)) continue;
        // Never past their last message, never backwards (spec §4.8).
        const target = offset < BigInt(c.meta.theirLastMessage) ? Number(offset) : c.meta.theirLastMessage;
        if (target > c.meta.readOffset) {
          c.meta.readOffset = target;
          changed = true;
        }
        if (their) break;
      }
      if (changed) await this.convs.commit(list, appends, 'required');
      return changed;
    });
  }

  /**
   * meshms_message_iterator_open: that one conversation brought up to date, then read. Without
   * `record` (a read-only client) it is brought up to date in memory only: no ACK, no index.
   */
  private async openConversation(me: Identity, their: Buffer, record: boolean): Promise<Snapshot> {
    const list = await this.convs.open(me);
    const c = list.convs.find((x) => x.them.equals(their));
    if (c) {
      const { updated, append } = await this.convs.update(c, record);
      // A list still works without its index saved; the next operation tries again.
      if (updated && record) await this.convs.commit(list, append ? [append] : [], 'best-effort');
    }
    return this.convs.snapshot(c);
  }

  /**
   * Runs `fn` for the unlocked identity `my`, after any other operation of that identity. A
   * locked or unknown identity is 419; failures not already in the catalogue become MeshMS status
   * -1 (500, details in the log).
   */
  private async locked<T>(my: Buffer, fn: (me: Identity) => Promise<T>): Promise<T> {
    const me = this.init.keyring.find(my);
    if (!me) failMeshms(MeshmsStatus.SID_LOCKED);
    try {
      return await this.serial.run(me.sidHex, () => fn(me));
    } catch (err) {
      if (isTendrilError(err)) throw err;
      failMeshms(MeshmsStatus.ERROR, err);
    }
  }
}

export function createMeshmsService(init: MeshmsServiceInit): MeshmsService {
  return new Meshms(init);
}
