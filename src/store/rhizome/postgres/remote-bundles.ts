/**
 * Bundles other nodes store, heard through LISTEN: each of their group commits ends with one
 * NOTIFY naming its new row ids (commit-queue.ts). This node reads those rows' listed columns
 * and hands them to its subscribers, as it does its own (own()), in row id order. Notifications
 * carry the committing node's id, so a node skips its own (it told its subscribers already).
 *
 * Notifications sent while this node was not listening (the database restarted, the connection
 * dropped) are lost; so each time listening (re)starts, the rows above the highest id heard so
 * far are read and announced, and nothing stored meanwhile is missed.
 */
import type { Logger } from '../../../log.js';
import type { Database } from '../../postgres/database.js';
import { LISTED_COLUMNS, rowToListed, type ListedRow } from '../bundle-row.js';
import type { ListedBundle } from '../types.js';
import { NOTIFY_CHANNEL } from './commit-queue.js';

const CATCH_UP_BATCH = 1000;

export class RemoteBundles {
  readonly #db: Database;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #announce: (bundles: readonly ListedBundle[]) => void;
  /** The highest row id announced (by this node or heard from another). */
  #highest = 0;
  #unlisten: (() => Promise<void>) | undefined;
  #chain: Promise<void> = Promise.resolve();
  /** Reads and announcements queued in the chain, not yet done. */
  #tasks = 0;
  /**
   * The row ids of the read queued last in the chain, while it has not started: ids heard
   * meanwhile join it. Under load notifications come faster than reads, and each node reads what
   * every other node stores, so one query per notification would grow with the number of nodes.
   */
  #open: number[] | undefined;

  constructor(db: Database, nodeId: string, log: Logger, announce: (bundles: readonly ListedBundle[]) => void) {
    this.#db = db;
    this.#nodeId = nodeId;
    this.#log = log;
    this.#announce = announce;
  }

  async start(): Promise<void> {
    const [row] = await this.#db.sql<Array<{ id: bigint | null }>>`SELECT max(id) AS id FROM rhizome_manifests`;
    this.#highest = Number(row?.id ?? 0n);
    let first = true;
    this.#unlisten = await this.#db.listen(
      NOTIFY_CHANNEL,
      (payload) => this.#heard(payload),
      () => {
        // The first start has nothing to catch up with; every later one may.
        if (first) first = false;
        else this.#run(() => this.#catchUp());
      },
    );
  }

  /**
   * This node stored these bundles (one group, in row id order). They are announced in the same
   * chain as the others' bundles, after any row committed before them that has not been heard of
   * yet (read now; its notification, when it comes, is then skipped): so subscribers hear every
   * bundle once, in row id order. A failure to read those rows does not hold up this node's own.
   */
  own(bundles: readonly ListedBundle[]): void {
    const first = bundles[0]?.rowid;
    if (first === undefined) return;
    if (this.#tasks === 0 && first === this.#highest + 1) {
      // Nothing before them to hear of (the usual case of a node alone): at once, as SQLite does.
      this.#highest = bundles.at(-1)!.rowid;
      this.#announce(bundles);
      return;
    }
    this.#run(async () => {
      if (first > this.#highest + 1) {
        await this.#catchUp(first).catch((err: unknown) => {
          this.#db.observe(err);
          this.#log.warn({ err }, 'could not read bundles another node stored');
        });
      }
      this.#highest = Math.max(this.#highest, bundles.at(-1)!.rowid);
      this.#announce(bundles);
    });
  }

  async stop(): Promise<void> {
    await this.#unlisten?.();
    this.#unlisten = undefined;
    await this.#chain;
  }

  #heard(payload: string): void {
    const colon = payload.indexOf(':');
    if (colon < 0 || payload.slice(0, colon) === this.#nodeId) return;
    const ids = payload
      .slice(colon + 1)
      .split(',')
      .map(Number)
      .filter((id) => Number.isSafeInteger(id) && id > 0);
    if (ids.length === 0) return;
    if (this.#open !== undefined) {
      this.#open.push(...ids);
      return;
    }
    const batch = ids;
    this.#run(() => {
      if (this.#open === batch) this.#open = undefined;
      return this.#fetch(batch);
    });
    this.#open = batch;
  }

  /** One read at a time, in order, so subscribers hear bundles in the order they were stored. */
  #run(task: () => Promise<void>): void {
    // Ids heard after this task must not be read before it: the open batch closes.
    this.#open = undefined;
    this.#tasks++;
    this.#chain = this.#chain
      .then(task)
      .catch((err: unknown) => {
        this.#db.observe(err);
        this.#log.warn({ err }, 'could not read bundles another node stored');
      })
      .finally(() => this.#tasks--);
  }

  async #fetch(heard: number[]): Promise<void> {
    // Rows up to the highest announced were read already (before this node's own commit).
    const ids = heard.filter((id) => id > this.#highest);
    if (ids.length === 0) return;
    const rows = await this.#db.sql.unsafe<ListedRow[]>(
      `SELECT ${LISTED_COLUMNS} FROM rhizome_manifests WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids.map(String)],
      { prepare: true },
    );
    // A row replaced since its notification is gone: its replacement's notification follows.
    this.#deliver(rows);
  }

  /** Every row above the highest announced (and below `before`, if given). */
  async #catchUp(before = Number.MAX_SAFE_INTEGER): Promise<void> {
    for (;;) {
      const rows = await this.#db.sql.unsafe<ListedRow[]>(
        `SELECT ${LISTED_COLUMNS} FROM rhizome_manifests WHERE id > $1::bigint AND id < $2::bigint ORDER BY id LIMIT ${CATCH_UP_BATCH}`,
        [String(this.#highest), String(before)],
        { prepare: true },
      );
      this.#deliver(rows);
      if (rows.length < CATCH_UP_BATCH) return;
    }
  }

  #deliver(rows: readonly ListedRow[]): void {
    const bundles = rows.map(rowToListed);
    for (const b of bundles) if (b.rowid > this.#highest) this.#highest = b.rowid;
    if (bundles.length > 0) this.#announce(bundles);
  }
}
