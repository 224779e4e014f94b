/**
 * Reconciliation sessions on one link (docs/sync.md §5.3). Only the node that opened the link
 * starts sessions: when the link comes up, after a RESYNC from the peer, and every repair
 * interval. Messages alternate; each answers every range of the one before; a message without
 * fingerprints ends the session (its receiver sends nothing back).
 *
 * Messages are answered by a task queue of their own, never by the link's reader: answering
 * sends, and the reader must not wait for the network.
 */
import { answerRange, openingRanges, type Differences, type ItemSource, type RangeEntry } from './reconcile/reconciler.js';
import type { Link } from './link.js';
import { FrameError, FrameType } from './wire/frames.js';
import { decodeRecon, encodeRange, encodeRecon, RECON_FINAL } from './wire/messages.js';

/** A RECON frame is flushed at this size (a message may span many). */
const RECON_FRAME_BYTES = 60_000;
/** The most a peer may make us hold of a message before its FINAL frame. */
const MAX_PENDING_RECON = 8 * 1024 * 1024;

interface Session {
  readonly initiator: boolean;
  readonly startedAt: number;
  messages: number;
  bytes: number;
}

export interface ReconDriverDeps {
  readonly link: Link;
  readonly source: ItemSource;
  /** Where the differences go; wants are flushed after each message. */
  readonly diffs: Differences & { flush(): Promise<void> };
  /** A session ended: messages exchanged and bytes of RECON bodies both ways. */
  readonly ended: (messages: number, bytes: number, ms: number) => void;
}

export class ReconDriver {
  readonly #deps: ReconDriverDeps;
  #tasks: Promise<void> = Promise.resolve();
  #pending: RangeEntry[] = [];
  #pendingBytes = 0;
  #session: Session | undefined;
  #again = false;

  constructor(deps: ReconDriverDeps) {
    this.#deps = deps;
  }

  get active(): boolean {
    return this.#session !== undefined;
  }

  /** Opener: starts a session now, or right after the one that runs. */
  start(): void {
    if (this.#deps.link.direction !== 'outgoing') {
      // The acceptor asks the opener to start one.
      void this.#deps.link.send(FrameType.RESYNC, Buffer.alloc(0)).catch(() => undefined);
      return;
    }
    if (this.#session !== undefined) {
      this.#again = true;
      return;
    }
    this.#session = { initiator: true, startedAt: Date.now(), messages: 0, bytes: 0 };
    this.#task(async () => {
      const ranges = await openingRanges(this.#deps.source);
      const fingerprints = await this.#send(ranges);
      if (!fingerprints) this.#end();
    });
  }

  /** A RECON frame from the peer. */
  receive(body: Buffer): void {
    const { flags, ranges } = decodeRecon(body);
    this.#pendingBytes += body.length;
    if (this.#pendingBytes > MAX_PENDING_RECON) throw new FrameError('reconciliation message too large');
    for (const r of ranges) this.#pending.push(r);
    if ((flags & RECON_FINAL) === 0) return;
    const message = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#session ??= { initiator: false, startedAt: Date.now(), messages: 0, bytes: 0 };
    this.#session.messages++;
    this.#session.bytes += bytes;
    this.#task(() => this.#answer(message));
  }

  #task(fn: () => Promise<void>): void {
    this.#tasks = this.#tasks.then(fn).catch((err: unknown) => {
      if (!this.#deps.link.closed) this.#deps.link.log.warn({ err }, 'reconciliation failed');
      this.#session = undefined;
    });
  }

  async #answer(message: readonly RangeEntry[]): Promise<void> {
    const needsReply = message.some((r) => r.kind === 'fingerprint');
    const reply: RangeEntry[] = [];
    for (const range of message) reply.push(...(await answerRange(this.#deps.source, range, this.#deps.diffs)));
    await this.#deps.diffs.flush();
    if (!needsReply) {
      this.#end();
      return;
    }
    const fingerprints = await this.#send(reply);
    if (!fingerprints) this.#end();
  }

  /** Sends one message, in as many frames as it takes; true if it holds fingerprints. */
  async #send(ranges: readonly RangeEntry[]): Promise<boolean> {
    const session = this.#session!;
    let parts: Buffer[] = [];
    let size = 0;
    for (const range of ranges) {
      const bytes = encodeRange(range);
      if (size + bytes.length > RECON_FRAME_BYTES && parts.length > 0) {
        await this.#frame(0, parts);
        session.bytes += size + 1;
        parts = [];
        size = 0;
      }
      parts.push(bytes);
      size += bytes.length;
    }
    await this.#frame(RECON_FINAL, parts);
    session.bytes += size + 1;
    session.messages++;
    return ranges.some((r) => r.kind === 'fingerprint');
  }

  #frame(flags: number, parts: Buffer[]): Promise<void> {
    return this.#deps.link.send(FrameType.RECON, encodeRecon(flags, parts));
  }

  #end(): void {
    const s = this.#session;
    if (s === undefined) return;
    this.#session = undefined;
    this.#deps.ended(s.messages, s.bytes, Date.now() - s.startedAt);
    if (this.#again) {
      this.#again = false;
      this.start();
    }
  }
}
