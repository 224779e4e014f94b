/**
 * What the soak's clients share: the counts of requests done and failed, and the identities they
 * talk between. Growth of the store is bounded here: each worker rewrites a few bundles of its own
 * (new versions replace old ones), its journal is replaced by a new one when it reaches
 * JOURNAL_MAX_BYTES, and the MeshMS conversation and MeshMB feed move to a fresh pair of
 * identities every PAIR_MESSAGES messages, so no list or journal grows with the soak's length;
 * only the number of retired journals, plys and feeds does, slowly.
 */
import { randomBytes } from 'node:crypto';
import type { Reply, SoakClient } from './soak-client.js';

export const JOURNAL_MAX_BYTES = 64 * 1024;
export const PAIR_MESSAGES = 250;
const SMALL_BUNDLES = 4;

export interface Identity {
  readonly sid: string;
  readonly identity: string;
}

/** Two identities that message each other and post to their feeds. */
export interface Pair {
  readonly a: Identity;
  readonly b: Identity;
  sent: number;
  /** Requests and long-polls using the pair now: its identities are removed only when none is. */
  inflight: number;
}

/** A bundle a worker alone rewrites, so it knows what the store holds for it. */
export interface OwnBundle {
  readonly secret: string;
  readonly large: boolean;
  bid: string | undefined;
  version: bigint;
  payload: Buffer | undefined;
}

export interface Journal {
  secret: string;
  /** Known after the first append. */
  bid: string | undefined;
  size: number;
}

export interface WorkerState {
  readonly id: number;
  readonly bundles: OwnBundle[];
  readonly journal: Journal;
}

export class LoadStats {
  readonly #started = performance.now();
  readonly done = new Map<string, number>();
  /** The first failures, described; failureCount counts them all. */
  readonly failures: string[] = [];
  failureCount = 0;

  ok(operation: string): void {
    this.done.set(operation, (this.done.get(operation) ?? 0) + 1);
  }

  fail(operation: string, err: unknown): void {
    this.failureCount++;
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    if (this.failures.length < 20) this.failures.push(`${seconds} s ${operation}: ${err instanceof Error ? err.message : String(err)}`);
  }

  requests(): number {
    let n = this.failureCount;
    for (const count of this.done.values()) n += count;
    return n;
  }
}

export const hex = (bytes: Buffer): string => bytes.toString('hex').toUpperCase();

/** The start of a body, for a failure message: one line, control bytes as dots. */
export const printable = (body: Buffer | string): string =>
  (typeof body === 'string' ? body : body.toString('latin1', 0, 200)).slice(0, 200).replace(/[^\x20-\x7e]/g, '.');

/** Throws unless `reply` has one of the statuses `ok`. */
export function expectStatus(reply: Reply, ok: number | readonly number[], what: string): void {
  const statuses = typeof ok === 'number' ? [ok] : ok;
  if (!statuses.includes(reply.status)) throw new Error(`${what}: ${reply.status} ${printable(reply.body)}`);
}

/** A 200 JSON table (or result) parsed; throws on any other status or a body that is not JSON. */
export function expectJson<T>(reply: Reply, what: string): T {
  expectStatus(reply, 200, what);
  try {
    return JSON.parse(reply.body.toString('utf8')) as T;
  } catch {
    throw new Error(`${what}: the body is not JSON: ${printable(reply.body)}`);
  }
}

export class World {
  readonly port: number;
  readonly newsinceTimeoutMs: number;
  readonly stats = new LoadStats();
  readonly workers: WorkerState[] = [];
  pair!: Pair;
  readonly #retired: Pair[] = [];
  #rotating = false;
  #pairs = 0;

  constructor(port: number, newsinceTimeoutMs: number) {
    this.port = port;
    this.newsinceTimeoutMs = newsinceTimeoutMs;
  }

  /** The pool of worker `id`, made on first use and kept across the soak's phases. */
  worker(id: number): WorkerState {
    while (this.workers.length <= id) {
      const bundle = (large: boolean): OwnBundle => ({ secret: hex(randomBytes(32)), large, bid: undefined, version: BigInt(Date.now()), payload: undefined });
      this.workers.push({
        id: this.workers.length,
        bundles: [...Array.from({ length: SMALL_BUNDLES }, () => bundle(false)), bundle(true)],
        journal: { secret: hex(randomBytes(32)), bid: undefined, size: 0 },
      });
    }
    return this.workers[id]!;
  }

  /** The first pair; later ones come from rotate(). */
  async start(client: SoakClient): Promise<void> {
    this.pair = await this.#newPair(client);
  }

  /**
   * Moves the conversation to a fresh pair once the current one has PAIR_MESSAGES messages, and
   * removes the identities of retired pairs nothing uses any more. One rotation at a time; the
   * worker that finds the pair full makes the requests.
   */
  async rotateIfFull(client: SoakClient): Promise<void> {
    if (this.pair.sent < PAIR_MESSAGES || this.#rotating) return;
    this.#rotating = true;
    try {
      const next = await this.#newPair(client);
      this.#retired.push(this.pair);
      this.pair = next;
      for (const old of [...this.#retired]) {
        if (old.inflight > 0) continue;
        this.#retired.splice(this.#retired.indexOf(old), 1);
        for (const id of [old.a, old.b]) {
          expectStatus(await client.delete(`/restful/keyring/${id.sid}`), 200, 'keyring remove');
          this.stats.ok('keyring remove');
        }
      }
    } finally {
      this.#rotating = false;
    }
  }

  async #newPair(client: SoakClient): Promise<Pair> {
    const n = ++this.#pairs;
    const add = async (name: string): Promise<Identity> => {
      const reply = await client.post(`/restful/keyring/add?name=${name}`);
      expectStatus(reply, 201, 'keyring add');
      this.stats.ok('keyring add');
      return (JSON.parse(reply.body.toString('utf8')) as { identity: Identity }).identity;
    };
    return { a: await add(`soak-${n}a`), b: await add(`soak-${n}b`), sent: 0, inflight: 0 };
  }
}
