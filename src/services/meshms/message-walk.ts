/**
 * Turning the threaded iterator into message-list rows (spec §4.5, §4.6): tokens, the single
 * synthetic ACK row, and where a newsince walk stops and pauses. This is the reference's
 * messagelist generator (meshms_restful.c) as a state machine over an iterator, so a token taken
 * from row i of a full list makes a newsince list of exactly rows [0, i), values and tokens alike.
 */
import type { MessageIterator } from './iterator.js';
import { encodeMeshmsToken, Ply, type MeshmsPosition } from './token.js';
import type { MessageRow } from './types.js';

interface Position {
  which: number;
  offset: number;
  theirAck: number;
}

export type WalkEnd = 'pause' | 'end' | 'fault';

export class MessageWalk {
  /** Where the client's view ends: the walk stops on reaching it. */
  private token: Position;
  /** The newest row of the current opening, with the current their_last_ack. */
  private latest: Position = { which: Ply.NEITHER, offset: 0, theirAck: 0 };
  /** The row being emitted; its theirAck drops to 0 once the ACK row is behind. */
  private current: Position = { which: Ply.NEITHER, offset: 0, theirAck: 0 };
  private finished = true;
  private iter: MessageIterator | undefined;

  /** A full list starts from "neither ply" (it never stops early); newsince from a token. */
  constructor(from: MeshmsPosition = { which: Ply.NEITHER, offset: 0, theirAck: 0 }) {
    this.token = { ...from };
  }

  /** Positions on the newest entry of a freshly opened iterator (reopen_meshms_message_iterator). */
  open(iter: MessageIterator): 'ok' | 'fault' {
    this.iter = iter;
    const step = iter.prev();
    if (step === 'fault') return 'fault';
    this.finished = step !== 'record';
    if (!this.finished) {
      this.latest.which = iter.which;
      this.latest.offset = iter.which === Ply.MINE ? iter.myOffset : iter.theirOffset;
      this.latest.theirAck = iter.meta.theirLastAck;
      this.current.theirAck = iter.meta.theirLastAck;
    }
    return 'ok';
  }

  /**
   * Rows from the current position down to the token (or the oldest entry). `live()` is asked at
   * the stopping point: while the long-poll lasts, a still unreported ACK is added, the token
   * moves to the newest row, and the walk returns 'pause'; otherwise it returns 'end'.
   */
  *rows(live: () => boolean): Generator<MessageRow, WalkEnd> {
    const iter = this.iter;
    if (!iter) return 'end';
    const { token, latest, current } = this;
    for (;;) {
      current.which = iter.which;
      current.offset = iter.which === Ply.MINE ? iter.myOffset : iter.theirOffset;
      if (this.finished || (token.which === current.which && current.offset <= token.offset)) {
        if (!live()) return 'end';
        // Messages before the token have been acknowledged since: report that at the end.
        if (token.theirAck !== latest.theirAck) {
          current.theirAck = latest.theirAck;
          yield this.ackRow(iter);
        }
        this.token = { ...latest };
        this.iter = undefined;
        return 'pause';
      }
      if (iter.kind === 'sent') {
        // The newest delivered message: the ACK row goes just before it, once.
        if (token.theirAck !== latest.theirAck && current.offset <= latest.theirAck) {
          yield this.ackRow(iter);
          token.theirAck = latest.theirAck;
          current.theirAck = 0;
          continue;
        }
        yield this.row('>', iter);
      } else if (iter.kind === 'received') {
        yield this.row('<', iter);
      }
      const step = iter.prev();
      if (step === 'fault') return 'fault';
      this.finished = step !== 'record';
    }
  }

  private row(type: '>' | '<', iter: MessageIterator): MessageRow {
    return {
      type,
      myOffset: iter.myOffset,
      theirOffset: iter.theirOffset,
      token: encodeMeshmsToken(this.current),
      text: iter.text ?? Buffer.alloc(0),
      delivered: type === '<' || iter.delivered,
      read: type === '<' && iter.read,
      timestamp: iter.timestamp,
      ackOffset: null,
    };
  }

  private ackRow(iter: MessageIterator): MessageRow {
    return {
      type: 'ACK',
      myOffset: iter.myOffset,
      theirOffset: iter.meta.theirLastAckOffset,
      token: encodeMeshmsToken(this.current),
      text: null,
      delivered: true,
      read: false,
      timestamp: null,
      ackOffset: iter.meta.theirLastAck,
    };
  }
}
