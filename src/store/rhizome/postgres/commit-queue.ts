/**
 * Group commit into PostgreSQL. Commits made while no group is out go together on the next turn;
 * while one group's transaction runs, every commit made meanwhile waits and goes out as the next
 * group. So groups grow with the load and share one transaction, one WAL flush and one round
 * trip for the lot (the per-bundle calls are pipelined).
 *
 * A group's transaction takes the commit lock (an advisory lock every node's commits and
 * evictions take) before anything else, so across all nodes manifests change one transaction at a
 * time: versions are compared, duplicates found and replaced payloads removed atomically by
 * rhizome_commit() (migrations.ts), and row ids are handed out in commit order. It ends with one
 * NOTIFY naming the new row ids, which every other node hears after the COMMIT.
 *
 * A commit's promise settles once COMMIT returned. A bundle whose stored payload was evicted
 * meanwhile (or whose blob was swept, its session taken for dead) is refused alone; a failure of
 * the transaction (the database unreachable, …) refuses the whole group, and nothing of it is
 * stored: the writers keep their bytes, so each commit may be retried.
 */
import type postgres from 'postgres';
import type { Database } from '../../postgres/database.js';
import { translatePostgresError } from '../../postgres/errors.js';
import { LOCKS } from '../../postgres/locks.js';
import { encodeUint64, rowToBundle } from '../bundle-row.js';
import type { QueuedPayload } from '../commit-payload.js';
import type { CommitOutcome, NewBundle, StoredBundle } from '../types.js';
import type { PostgresPayloadWriter } from './payload-writer.js';

export const NOTIFY_CHANNEL = 'tendril_rhizome';
/** Row ids per NOTIFY payload (payloads must stay under 8000 bytes). */
const IDS_PER_NOTIFY = 400;

interface Pending {
  readonly bundle: NewBundle;
  readonly payload: QueuedPayload<PostgresPayloadWriter>;
  readonly resolve: (outcome: CommitOutcome) => void;
  readonly reject: (err: unknown) => void;
}

interface CallResult {
  readonly outcome: 'new' | 'same' | 'old' | 'missing';
  readonly added: boolean;
  readonly row_id: bigint | null;
  // The stored row, for 'same' and 'old'.
  readonly s_inserttime: bigint | null;
  readonly s_version: Buffer | null;
  readonly s_filesize: bigint | null;
  readonly s_filehash: Buffer | null;
  readonly s_tail: Buffer | null;
  readonly s_service: string | null;
  readonly s_name: string | null;
  readonly s_sender: Buffer | null;
  readonly s_recipient: Buffer | null;
  readonly s_date: bigint | null;
  readonly s_author: Buffer | null;
  readonly s_manifest: Buffer | null;
}

/** The stored row a 'same' or 'old' outcome reports. */
function storedRow(bid: Buffer, r: CallResult): StoredBundle {
  return rowToBundle({
    id: r.row_id!,
    inserttime: r.s_inserttime!,
    bid,
    version: r.s_version!,
    filesize: r.s_filesize!,
    filehash: r.s_filehash,
    tail: r.s_tail,
    service: r.s_service,
    name: r.s_name,
    sender: r.s_sender,
    recipient: r.s_recipient,
    date: r.s_date,
    author: r.s_author,
    manifest: r.s_manifest!,
  });
}

export interface CommitQueueOptions {
  readonly db: Database;
  /** This node's name in NOTIFY payloads, so it can skip its own. */
  readonly nodeId: string;
  readonly now: () => number;
  /** How long to wait for the commit lock before RHIZOME_BUSY (ms). */
  readonly busyTimeoutMs: number;
  /** After each group that stored something: the new bundles, in row id order. */
  readonly committed: (bundles: readonly StoredBundle[], doomed: boolean) => void;
}

export class CommitQueue {
  readonly #options: CommitQueueOptions;
  #queue: Pending[] = [];
  #running = false;
  #scheduled = false;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(options: CommitQueueOptions) {
    this.#options = options;
  }

  enqueue(bundle: NewBundle, payload: QueuedPayload<PostgresPayloadWriter>): Promise<CommitOutcome> {
    if (this.#closed) return Promise.reject(new Error('Rhizome store closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ bundle, payload, resolve, reject });
      this.#schedule();
    });
  }

  /** Hashes that queued commits rely on: eviction leaves them alone. */
  pinned(): ReadonlySet<string> {
    const hashes = new Set<string>();
    for (const p of this.#queue) if (p.payload.kind === 'stored') hashes.add(p.payload.hash.toString('hex'));
    return hashes;
  }

  /** Refuses what is still queued; resolves once a group already out has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reject(new Error('Rhizome store closed'));
    if (this.#running) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running || this.#queue.length === 0) return;
    this.#running = true;
    const group = this.#queue.splice(0);
    try {
      await this.#commit(group);
    } finally {
      this.#running = false;
      for (const wake of this.#idle.splice(0)) wake();
      if (this.#queue.length > 0 && !this.#closed) this.#schedule();
    }
  }

  async #commit(group: Pending[]): Promise<void> {
    const { db, now, nodeId } = this.#options;
    const inserttime = now();
    let results: CallResult[];
    try {
      results = await db.sql.begin(async (tx) => {
        // Waiting longer than the busy timeout for another node's commit is RHIZOME_BUSY (423).
        // The timeout, the lock and every bundle's call go out together (pipelined: one round
        // trip, not three). Queries are sent when executed, so these two are executed before the
        // calls are made: the server runs them in that order, the calls run under the lock, and
        // if the lock times out the rest fail with the transaction.
        const timeout = tx.unsafe(`SET LOCAL lock_timeout = ${this.#options.busyTimeoutMs}`).execute();
        const lock = tx`SELECT pg_advisory_xact_lock(${LOCKS.commit}::bigint)`.execute();
        const [, , ...calls] = await Promise.all([timeout, lock, ...group.map((p) => call(tx, p, inserttime))]);
        const ids = calls.filter((c) => c.outcome === 'new').map((c) => c.row_id!.toString());
        for (let i = 0; i < ids.length; i += IDS_PER_NOTIFY) {
          await tx`SELECT pg_notify(${NOTIFY_CHANNEL}, ${`${nodeId}:${ids.slice(i, i + IDS_PER_NOTIFY).join(',')}`})`;
        }
        return calls;
      });
      db.observe(undefined);
    } catch (err) {
      db.observe(err);
      const failure = translatePostgresError(err);
      for (const p of group) p.reject(failure);
      return;
    }
    const added: StoredBundle[] = [];
    let doomed = false;
    group.forEach((p, i) => {
      const r = results[i]!;
      if (r.outcome === 'missing') {
        p.reject(new Error('Rhizome store: payload no longer held'));
        return;
      }
      if (p.payload.kind === 'written') p.payload.writer.stored();
      if (r.outcome === 'new') {
        const bundle: StoredBundle = { ...p.bundle, rowid: Number(r.row_id), inserttime };
        added.push(bundle);
        doomed = true; // a replaced version may have left a blob to sweep
        p.resolve({ kind: 'new', bundle, payloadAdded: r.added });
        return;
      }
      p.resolve({ kind: r.outcome, bundle: storedRow(p.bundle.bid, r) });
    });
    if (added.length > 0) this.#options.committed(added, doomed);
  }
}

type Tx = postgres.TransactionSql<{ bigint: bigint }>;

async function call(tx: Tx, p: Pending, inserttime: number): Promise<CallResult> {
  const b = p.bundle;
  const handoff = p.payload.kind === 'written' ? p.payload.writer.handoff() : undefined;
  const kind = p.payload.kind === 'none' ? 'none' : p.payload.kind === 'stored' ? 'stored' : handoff?.kind === 'blob' ? 'blob' : 'inline';
  const data = handoff?.kind === 'inline' ? handoff.data : null;
  const blob = handoff?.kind === 'blob' ? handoff.blob.toString() : null;
  const [row] = await tx<CallResult[]>`
    SELECT * FROM rhizome_commit(
      ${b.bid}, ${encodeUint64(b.version)}, ${inserttime}, ${b.filesize.toString()}::bigint, ${b.filehash ?? null},
      ${b.tail === undefined ? null : encodeUint64(b.tail)}, ${b.service ?? null}, ${b.name ?? null}, ${b.sender ?? null},
      ${b.recipient ?? null}, ${b.date === undefined ? null : b.date.toString()}::bigint, ${b.author ?? null}, ${b.manifest},
      ${kind}, ${data}, ${blob}::bigint)`;
  return row!;
}
