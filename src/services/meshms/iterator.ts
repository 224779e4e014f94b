/**
 * The messages of one conversation, newest first, threaded as the sender saw them (spec §4.5):
 * walk my ply backwards; a TIME record sets the timestamp of what follows in the walk, a MESSAGE
 * is a sent message, and an ACK of mine (a range of their ply) walks their ply backwards over that
 * range, yielding their messages (and their ACKs, which list nothing but still count as
 * positions). This is the reference's meshms_message_iterator, step for step: row offsets, tokens
 * and the newsince stopping points all depend on exactly where it stands after each step.
 */
import { RecordType } from '../../formats/ply.js';
import type { ConversationMetadata } from './conversation.js';
import { messageText, parseAck, parseTime, PlyCursor } from './ply-cursor.js';
import { Ply } from './token.js';

export type Step = 'record' | 'end' | 'fault';

export class MessageIterator {
  /** Which ply the last step read from. */
  which: number = Ply.NEITHER;
  kind: 'sent' | 'received' | 'ack' = 'sent';
  /** Seconds of the last TIME record passed in my ply; 0 before any. */
  timestamp = 0;
  /** A sent message's end, or the end of my ACK that covers a received one. */
  myOffset = 0;
  /** A received message's (or their ACK's) end in their ply; 0 for sent ones. */
  theirOffset = 0;
  text: Buffer | undefined;
  delivered = false;
  read = false;

  private readonly mine: PlyCursor | undefined;
  private readonly theirs: PlyCursor | undefined;
  private inAck = false;
  private endRange = 0;

  /**
   * `my` and `their` are the decrypted plys, undefined when that ply is not in the store. If
   * their ply holds messages my ACKs do not cover yet (the auto-ACK failed), those come first.
   */
  constructor(
    readonly meta: Readonly<ConversationMetadata>,
    my: Buffer | undefined,
    their: Buffer | undefined,
  ) {
    this.mine = my && new PlyCursor(my);
    this.theirs = their && new PlyCursor(their);
    if (this.theirs && meta.theirLastMessage > meta.myLastAck) {
      this.inAck = true;
      this.theirs.offset = meta.theirLastMessage;
      this.endRange = meta.myLastAck;
    }
  }

  /** Moves to the next older entry: 'record', 'end', or 'fault' on a malformed record. */
  prev(): Step {
    for (;;) {
      if (this.theirs && this.inAck) {
        const theirs = this.theirs;
        // Their ply may be shorter here than the ACK says (not all of it has arrived).
        if (theirs.offset > theirs.length) theirs.offset = theirs.length;
        if (theirs.prev()) {
          this.which = Ply.THEIRS;
          if (theirs.offset >= this.endRange) {
            if (theirs.type === RecordType.ACK) {
              this.kind = 'ack';
              this.theirOffset = theirs.recordEnd;
              this.text = undefined;
              this.read = false;
              return 'record';
            }
            if (theirs.type === RecordType.MESSAGE) {
              this.kind = 'received';
              this.theirOffset = theirs.recordEnd;
              const record = theirs.record;
              // A received message must end with its NUL (spec §4.5: otherwise a protocol fault).
              if (record.length === 0 || record[record.length - 1] !== 0) return 'fault';
              this.text = messageText(record);
              this.read = theirs.recordEnd <= this.meta.readOffset;
              return 'record';
            }
            continue;
          }
        }
        this.inAck = false;
      } else if (this.mine) {
        const mine = this.mine;
        if (!mine.prev()) return 'end';
        this.which = Ply.MINE;
        switch (mine.type) {
          case RecordType.TIME: {
            const time = parseTime(mine.record);
            if (time === undefined) return 'fault';
            this.timestamp = time;
            break;
          }
          case RecordType.ACK:
            if (this.theirs) {
              this.myOffset = mine.recordEnd;
              const ack = parseAck(mine.record);
              if (!ack.ok) return 'fault';
              this.theirs.offset = ack.end;
              this.endRange = ack.start;
              this.inAck = true;
            }
            break;
          case RecordType.MESSAGE:
            this.kind = 'sent';
            this.myOffset = mine.recordEnd;
            this.theirOffset = 0;
            this.text = messageText(mine.record);
            this.delivered = mine.recordEnd <= this.meta.theirLastAck;
            return 'record';
          default:
            break;
        }
      } else {
        return 'end';
      }
    }
  }
}
