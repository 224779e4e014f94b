/**
 * Bundles other nodes store, heard through LISTEN: each of their group commits ends with one
 * NOTIFY naming its new row ids (commit-queue.ts). This node reads those rows' listed columns
 * and hands them to its subscribers, as it does its own. Notifications carry the committing
 * node's id, so a node skips its own (it told its subscribers already).
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

  /** This node stored these ids itself. */
  seen(rowid: number): void {
    if (rowid > this.#highest) this.#highest = rowid;
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
    if (ids.length > 0) this.#run(() => this.#fetch(ids));
  }

  /** One read at a time, in order, so subscribers hear bundles in the order they were stored. */
  #run(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((err: unknown) => {
      this.#db.observe(err);
      this.#log.warn({ err }, 'could not read bundles another node stored');
    });
  }

  async #fetch(ids: number[]): Promise<void> {
    const rows = await this.#db.sql.unsafe<ListedRow[]>(
      `SELECT ${LISTED_COLUMNS} FROM rhizome_manifests WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids.map(String)],
      { prepare: true },
    );
    // A row replaced since its notification is gone: its replacement's notification follows.
    this.#deliver(rows);
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      const rows = await this.#db.sql.unsafe<ListedRow[]>(
        `SELECT ${LISTED_COLUMNS} FROM rhizome_manifests WHERE id > $1::bigint ORDER BY id LIMIT ${CATCH_UP_BATCH}`,
        [String(this.#highest)],
        { prepare: true },
      );
      this.#deliver(rows);
      if (rows.length < CATCH_UP_BATCH) return;
    }
  }

  #deliver(rows: readonly ListedRow[]): void {
    const bundles = rows.map(rowToListed);
    for (const b of bundles) this.seen(b.rowid);
    if (bundles.length > 0) this.#announce(bundles);
  }
}
