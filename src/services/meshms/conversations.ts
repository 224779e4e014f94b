/**
 * The steps every MeshMS operation is made of (the reference's meshms.c): load an identity's
 * conversations (its private index, then every ply in the store naming it), bring their offsets
 * up to date from the plys, plan the records to append (auto-ACKs, a message), and commit: the ply
 * appends and the index rewrite go to the store together, so they share one durable commit.
 *
 * The index holds only what the plys determine, except the read markers; if an append fails the
 * index is written again with the offsets from before it, and any index left behind by a crash
 * in between is corrected from the plys on the next operation (their sizes no longer match).
 */
import { isTendrilError } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { encodeAck, encodeTime } from '../../formats/ply.js';
import type { Logger } from '../../log.js';
import type { Identity } from '../keyring/types.js';
import { BundleWriteError, type MeshmsBundles } from './bundles.js';
import { emptyMetadata, updateMyStats, updateTheirStats, type Conversation, type ConversationMetadata, type PlyRef } from './conversation.js';
import { decodeIndex, encodeIndex } from './index-format.js';
import { failMeshms, MeshmsStatus } from './status.js';

/** An identity's conversations as loaded for one operation, in the reference's list order. */
export interface ConversationList {
  readonly me: Identity;
  readonly convs: Conversation[];
  indexVersion: bigint | undefined;
}

/** Records to append to one conversation's ply, and its offsets from before they were planned. */
export interface PlannedAppend {
  readonly c: Conversation;
  readonly records: Buffer;
  readonly before: ConversationMetadata;
}

/** What a message list reads: the offsets and both plys, as they were when it opened. */
export interface Snapshot {
  readonly meta: ConversationMetadata;
  readonly my: Buffer | undefined;
  readonly their: Buffer | undefined;
}

export class Conversations {
  constructor(
    private readonly bundles: MeshmsBundles,
    private readonly log: Logger,
    private readonly timeRecord: () => Buffer | undefined,
    private readonly now: () => number,
  ) {}

  /** The index's conversations, then every ply in the store naming me (meshms_open_list). */
  async open(me: Identity): Promise<ConversationList> {
    const index = await this.bundles.readIndex(me);
    const convs: Conversation[] = (index ? decodeIndex(index.payload) : []).map((e) => ({ them: e.them, my: undefined, their: undefined, meta: e.meta }));
    const byThem = new Map<string, Conversation>();
    for (const c of convs) if (!byThem.has(toHex(c.them))) byThem.set(toHex(c.them), c);
    for (const row of await this.bundles.plysOf(me.sid)) {
      // A ply I sent is mine, whoever it is to (myself included); any other names me as recipient.
      const mine = row.sender.equals(me.sid);
      const them = mine ? row.recipient : row.sender;
      let c = byThem.get(toHex(them));
      if (!c) {
        // Conversations the index does not know yet go to the front, as the reference adds them.
        c = { them, my: undefined, their: undefined, meta: emptyMetadata() };
        convs.unshift(c);
        byThem.set(toHex(them), c);
      }
      const ref: PlyRef = { bid: row.bid, version: row.version, size: row.size };
      if (mine) c.my = ref;
      else c.their = ref;
    }
    return { me, convs, indexVersion: index?.version };
  }

  /** A ply's bytes; a ply listed a moment ago that cannot be read is an internal error. */
  async read(ply: PlyRef): Promise<Buffer> {
    const bytes = await this.bundles.readPly(ply);
    if (!bytes) failMeshms(MeshmsStatus.ERROR, new Error(`MeshMS ply ${toHex(ply.bid)} left the store`));
    return bytes;
  }

  /** Offsets from the records added to either ply since they were last taken (update_stats). */
  async refresh(c: Conversation): Promise<boolean> {
    let updated = false;
    if (c.meta.theirSize !== (c.their?.size ?? 0)) {
      const bytes = c.their ? await this.read(c.their) : Buffer.alloc(0);
      updated = updateTheirStats(c.meta, bytes.length, bytes) || updated;
    }
    // Nothing else matters until they have written something.
    if (!c.meta.theirLastMessage) return updated;
    if (c.meta.mySize !== (c.my?.size ?? 0)) {
      const bytes = c.my ? await this.read(c.my) : Buffer.alloc(0);
      updated = updateMyStats(c.meta, bytes.length, bytes) || updated;
    }
    return updated;
  }

  /**
   * Plans `records` for my ply, preceded by an ACK of their unacknowledged messages if `ack`
   * (spec §7.11.2), and sets the offsets to what they will be once appended.
   */
  plan(c: Conversation, records: readonly Buffer[], ack: boolean): PlannedAppend {
    const before = { ...c.meta };
    const parts: Buffer[] = [];
    if (ack && c.meta.myLastAck < c.meta.theirLastMessage) {
      parts.push(encodeAck(c.meta.theirLastMessage, c.meta.myLastAck));
      c.meta.myLastAck = c.meta.theirLastMessage;
    }
    parts.push(...records);
    const bytes = Buffer.concat(parts);
    c.meta.mySize = (c.my?.size ?? 0) + bytes.length;
    return { c, records: bytes, before };
  }

  /**
   * The auto-ACK of one conversation (update_conversation): its plan, if their messages need one.
   * Without `ack` (a read-only client) the offsets are brought up to date and nothing is planned.
   */
  async update(c: Conversation, ack = true): Promise<{ updated: boolean; append: PlannedAppend | undefined }> {
    const updated = await this.refresh(c);
    if (!ack || c.meta.myLastAck >= c.meta.theirLastMessage) return { updated, append: undefined };
    const time = this.timeRecord();
    return { updated: true, append: this.plan(c, time ? [time] : [], true) };
  }

  /** Every conversation, updated ones moving to the front (update_conversations). */
  async updateAll(list: ConversationList, ack = true): Promise<{ updated: boolean; appends: PlannedAppend[] }> {
    let updated = false;
    const appends: PlannedAppend[] = [];
    for (const c of [...list.convs]) {
      const result = await this.update(c, ack);
      if (result.append) appends.push(result.append);
      if (!result.updated) continue;
      updated = true;
      list.convs.splice(list.convs.indexOf(c), 1);
      list.convs.unshift(c);
    }
    return { updated, appends };
  }

  /**
   * Appends the planned records and, unless `index` is 'none', rewrites the index, all at once.
   * A failed append is 500 (status -1); a failed index write is 500 "MeshMS protocol fault" when
   * `index` is 'required', and only logged when 'best-effort' (the reference ignores it there).
   */
  async commit(list: ConversationList, appends: readonly PlannedAppend[], index: 'required' | 'best-effort' | 'none'): Promise<void> {
    const appended = Promise.allSettled(appends.map((p) => this.bundles.appendPly(list.me, p.c.them, p.c.my, p.records)));
    const indexed: Promise<unknown> = index === 'none' ? Promise.resolve(undefined) : this.saveIndex(list).then(() => undefined, (err: unknown) => err ?? new Error('index write failed'));
    const results = await appended;
    const indexError = await indexed;
    let failure: unknown;
    results.forEach((r, i) => {
      const { c, before } = appends[i]!;
      if (r.status === 'fulfilled') {
        c.my = r.value;
        c.meta.mySize = r.value.size;
      } else {
        c.meta = before;
        failure ??= r.reason;
      }
    });
    if (failure !== undefined) {
      if (failure instanceof BundleWriteError) this.log.error({ err: failure, outcome: failure.reply?.outcome }, 'MeshMS ply append failed');
      if (index !== 'none') await this.saveIndex(list).catch((err: unknown) => this.log.warn({ err }, 'MeshMS conversation index not restored'));
      failMeshms(MeshmsStatus.ERROR, failure);
    }
    if (indexError === undefined) return;
    const outcome = indexError instanceof BundleWriteError ? indexError.reply?.outcome : undefined;
    this.log.warn({ err: indexError, outcome }, 'MeshMS conversation index not stored');
    if (index === 'best-effort') return;
    // The store refused the new version (the reference's "gazumped", "evicted", …): status 3.
    if (isTendrilError(indexError)) throw indexError;
    failMeshms(indexError instanceof BundleWriteError ? MeshmsStatus.PROTOCOL_FAULT : MeshmsStatus.ERROR, indexError);
  }

  /** The conversation's offsets and both plys, for a message list. */
  async snapshot(c: Conversation | undefined): Promise<Snapshot> {
    if (!c) return { meta: emptyMetadata(), my: undefined, their: undefined };
    return {
      meta: { ...c.meta },
      my: c.my ? await this.read(c.my) : undefined,
      their: c.their ? await this.read(c.their) : undefined,
    };
  }

  /**
   * Rewrites my conversation index with the offsets as they are now (taken before the first
   * await, so appends may run meanwhile); nothing is written while there are no conversations.
   */
  private async saveIndex(list: ConversationList): Promise<void> {
    if (list.convs.length === 0) return;
    const payload = encodeIndex(list.convs.map((c) => ({ them: c.them, meta: c.meta })));
    list.indexVersion = await this.bundles.writeIndex(list.me, payload, list.indexVersion, this.now());
  }
}

export const timeRecordOf =
  (reliableClock: () => boolean, now: () => number) =>
  (): Buffer | undefined =>
    reliableClock() ? encodeTime(Math.floor(now() / 1000)) : undefined;
