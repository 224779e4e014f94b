/**
 * Group commit, main-thread side. Commits made while no group is being written are sent together
 * on the next turn (setImmediate); while the commit writer (commit-writer.ts, a worker thread
 * with its own connection) stores one group, every commit made meanwhile waits and goes out as the
 * next group as soon as the writer reports. So groups grow with the load, concurrent inserts share
 * one WAL fsync, and the event loop never waits for the disk. What a group commit does, step by
 * step, and why it is crash-safe, is in group-commit.ts.
 *
 * A commit's promise settles only when the writer has reported its COMMIT done (synchronous=FULL:
 * on disk). Subscribers hear of the new bundles right after the group's promises have settled
 * (the newsince fan-out then waits a turn, so that those requests' replies go out first).
 *
 * The writer starts with the store (open waits until its connection is open, so open() and
 * close() stay synchronous and complete) and runs until close(), referenced (keeping the process
 * alive) only while a group is out. close() waits until the writer has closed its connection, so
 * the database is left as it was before the writer existed: the main thread's connection is the
 * last to close. If the writer dies, the group it held is refused and the next group starts a
 * new one.
 */
import { MessageChannel, type Worker } from 'node:worker_threads';
import { rowToBundle, type ManifestRow } from './bundle-row.js';
import type { QueuedPayload } from './commit-payload.js';
import { HashChannel } from './hash-thread.js';
import { encodeGroup, type WireCommit, type WirePayload } from './commit-codec.js';
import { asBuffer, asBufferOrNull, fromWireError, WriterState, type FromWriter, type ToWriter, type WriterData } from './commit-wire.js';
import type { StoreLayout } from './layout.js';
import { translateSqliteError } from './sqlite-errors.js';
import type { CommitOutcome, NewBundle, StoredBundle } from '../types.js';
import { startWriterThread } from './writer-thread.js';

/** How long open() and close() wait for the writer (booting, or finishing a group). */
const WAIT_MS = 10_000;

interface Pending {
  readonly bundle: NewBundle;
  readonly payload: QueuedPayload;
  readonly resolve: (outcome: CommitOutcome) => void;
  readonly reject: (err: unknown) => void;
}

interface InFlight {
  readonly commits: readonly Pending[];
  readonly inserttimes: readonly number[];
}

export interface CommitContext {
  readonly layout: StoreLayout;
  readonly busyTimeoutMs: number | undefined;
  readonly now: () => number;
  /** A group was committed; `payloadsDeleted`: it deleted payload rows. */
  readonly committed: (payloadsDeleted: boolean) => void;
  /** New bundles, in commit order, after their commits have settled. */
  readonly notify: (bundles: readonly StoredBundle[]) => void;
}

export class CommitQueue {
  readonly #ctx: CommitContext;
  #queue: Pending[] = [];
  #inFlight: InFlight | undefined;
  #scheduled: NodeJS.Immediate | undefined;
  #writer: Worker | undefined;
  #hashes: HashChannel | undefined;
  #state: Int32Array | undefined;
  #closed = false;

  constructor(ctx: CommitContext) {
    this.#ctx = ctx;
    this.#startWriter();
  }

  enqueue(bundle: NewBundle, payload: QueuedPayload): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ bundle, payload, resolve, reject });
      if (this.#inFlight === undefined) this.#scheduled ??= setImmediate(() => this.#send());
    });
  }

  /** Hex hashes of payloads that queued or in-flight commits expect the store to keep. */
  pinned(): Set<string> {
    const pins = new Set<string>();
    for (const p of [...this.#queue, ...(this.#inFlight?.commits ?? [])]) {
      if (p.payload.kind === 'stored') pins.add(p.payload.hash.toString('hex'));
    }
    return pins;
  }

  /**
   * Refuses whatever is still queued (the store is closing). A group already out is finished by
   * the writer, which then closes its connection and ends.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    for (const p of this.#queue.splice(0)) p.reject(new Error('Rhizome store closed'));
    if (this.#writer === undefined) return;
    this.#writer.postMessage({ type: 'close' } satisfies ToWriter);
    this.#wait(WriterState.OPEN);
  }

  /** Blocks while the writer's state is `state` (booting or open), at most WAIT_MS. */
  #wait(state: number): void {
    if (this.#state === undefined) return;
    const until = performance.now() + WAIT_MS;
    for (let left = WAIT_MS; left > 0 && Atomics.load(this.#state, 0) === state; left = until - performance.now()) {
      Atomics.wait(this.#state, 0, state, left);
    }
  }

  #send(): void {
    this.#scheduled = undefined;
    if (this.#inFlight !== undefined || this.#closed || this.#queue.length === 0) return;
    const commits: Pending[] = [];
    const items: WireCommit[] = [];
    for (const p of this.#queue.splice(0)) {
      try {
        items.push({ bundle: p.bundle, payload: wirePayload(p.payload), inserttime: this.#ctx.now() });
        commits.push(p);
      } catch (err) {
        p.reject(err);
      }
    }
    if (commits.length === 0) return;
    this.#inFlight = { commits, inserttimes: items.map((i) => i.inserttime) };
    const writer = this.#startWriter();
    writer.ref();
    const group = encodeGroup(items);
    writer.postMessage({ type: 'commit', group } satisfies ToWriter, [group.buffer as ArrayBuffer]);
  }

  /** The writer thread's hash channel (hash-thread.ts), starting the writer if it is not running. */
  hashes(): HashChannel {
    this.#startWriter();
    return this.#hashes!;
  }

  #startWriter(): Worker {
    if (this.#writer !== undefined) return this.#writer;
    const state = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const data: WriterData = { layout: this.#ctx.layout, busyTimeoutMs: this.#ctx.busyTimeoutMs, state, hashes: port2 };
    const writer = startWriterThread(data, [port2]);
    this.#hashes = new HashChannel(port1);
    writer.unref();
    writer.on('message', (message: FromWriter) => this.#onMessage(message));
    writer.on('error', (err) => this.#lost(writer, err));
    writer.on('exit', () => this.#lost(writer, new Error('Rhizome commit writer exited')));
    this.#writer = writer;
    this.#state = new Int32Array(state);
    this.#wait(WriterState.BOOTING);
    return writer;
  }

  /** The writer died: the group it held is refused; the next group starts a new writer. */
  #lost(writer: Worker, err: unknown): void {
    if (this.#writer !== writer) return;
    this.#writer = undefined;
    this.#hashes?.close();
    this.#hashes = undefined;
    this.#state = undefined;
    const group = this.#inFlight;
    this.#inFlight = undefined;
    for (const p of group?.commits ?? []) p.reject(err);
    this.#next();
  }

  #onMessage(message: FromWriter): void {
    if (message.type === 'closed') {
      this.#writer = undefined;
      this.#state = undefined;
      return;
    }
    const group = this.#inFlight;
    this.#inFlight = undefined;
    if (!this.#closed) this.#writer?.unref();
    if (group === undefined) return;
    if (message.type === 'failed') {
      const error = translateSqliteError(fromWireError(message.error));
      for (const p of group.commits) p.reject(error);
      this.#next();
      return;
    }
    this.#ctx.committed(message.deleted > 0);
    const added: StoredBundle[] = [];
    group.commits.forEach((p, i) => {
      if (p.payload.kind === 'written') p.payload.writer.stored(message.renamed[i] === true);
      const result = message.results[i]!;
      if (!result.ok) {
        p.reject(translateSqliteError(fromWireError(result.error)));
      } else if (result.kind === 'new') {
        const bundle = storedBundle(p.bundle, result.rowid, group.inserttimes[i]!);
        added.push(bundle);
        p.resolve({ kind: 'new', bundle, payloadAdded: result.payloadAdded });
      } else {
        p.resolve({ kind: result.kind, bundle: rowToBundle(wrapRow(result.row)) });
      }
    });
    this.#next();
    if (added.length > 0) this.#ctx.notify(added);
  }

  /** Sends what queued up while the writer was busy, at once: that is how groups grow. */
  #next(): void {
    if (this.#queue.length > 0 && !this.#closed) this.#send();
  }
}

function wirePayload(payload: QueuedPayload): WirePayload {
  if (payload.kind !== 'written') return payload;
  const handoff = payload.writer.handoff();
  if (handoff === undefined) throw new Error('payload writer was aborted or its payload is gone');
  const { hash, length } = payload;
  return handoff.kind === 'inline' ? { kind: 'inline', hash, length, data: handoff.data } : { kind: 'file', hash, length, path: handoff.path };
}

/** The stored bundle of a new commit: what was committed, with its row id and insert time. */
function storedBundle(b: NewBundle, rowid: number, inserttime: number): StoredBundle {
  return {
    rowid,
    inserttime,
    bid: b.bid,
    version: b.version,
    filesize: b.filesize,
    filehash: b.filehash,
    tail: b.tail,
    service: b.service,
    name: b.name,
    sender: b.sender,
    recipient: b.recipient,
    date: b.date,
    author: b.author,
    manifest: b.manifest,
  };
}

/** A row that crossed from the writer: its BLOBs as Buffers again. */
function wrapRow(row: ManifestRow): ManifestRow {
  return {
    ...row,
    bid: asBuffer(row.bid),
    version: asBuffer(row.version),
    filehash: asBufferOrNull(row.filehash),
    tail: asBufferOrNull(row.tail),
    sender: asBufferOrNull(row.sender),
    recipient: asBufferOrNull(row.recipient),
    author: asBufferOrNull(row.author),
    manifest: asBuffer(row.manifest),
  };
}
