/**
 * Rhizome REST reads (spec §3.3 – §3.7): bundle lists, the newsince long-poll, manifests and
 * payloads with Range.
 */
import { parseSid } from '../../crypto/identity.js';
import { fail } from '../../errors.js';
import type { BundleFilter } from '../../store/rhizome/types.js';
import { REPLACED_ATTEMPTS } from '../../services/rhizome/read-current.js';
import { decodeBundleToken, encodeBundleToken } from '../../services/rhizome/token.js';
import type { RhizomeService } from '../../services/rhizome/types.js';
import { contentRangeHeader, parseRange, resolveRange, unsatisfiableRangeHeader } from '../range.js';
import type { Handler, RequestContext, Result, Row } from '../types.js';
import { BundleRows } from './bundle-rows.js';
import { rhizomeHeaders, rhizomeResult } from './rhizome-reply.js';

export const BUNDLE_COLUMNS = [
  '.token',
  '_id',
  'service',
  'id',
  'version',
  'date',
  '.inserttime',
  '.author',
  '.fromhere',
  'filesize',
  'filehash',
  'sender',
  'recipient',
  'name',
] as const;

/** List filters from the query; empty values and unparsable SIDs are ignored, as the reference does. */
function filterOf(ctx: RequestContext): BundleFilter {
  const text = (name: string): string | undefined => {
    const value = ctx.queryValue(name);
    return value === undefined || value === '' ? undefined : value;
  };
  const sid = (name: string): Buffer | undefined => {
    const value = text(name);
    return value === undefined ? undefined : parseSid(value);
  };
  const filter: { -readonly [K in keyof BundleFilter]: BundleFilter[K] } = {};
  const service = text('service');
  const name = text('name');
  const sender = sid('sender');
  const recipient = sid('recipient');
  if (service !== undefined) filter.service = service;
  if (name !== undefined) filter.name = name;
  if (sender) filter.sender = sender;
  if (recipient) filter.recipient = recipient;
  return filter;
}

/**
 * The newsince long-polls of one node, woken together (spec §3.4).
 *
 * A stored bundle usually concerns every waiting long-poll at once, and they all wait at the same
 * position: the previous bundle. So on a store notification the feed runs one query per distinct
 * (filter, position), renders the rows once, and hands the same rendered rows to every long-poll
 * in that group, instead of one query and one rendering per client (1,000 of each per insert in
 * docs/benchmarks.md). It does so on the turn after the notification, when the requests whose
 * commits caused it have had their replies written. A long-poll that is busy writing rows when a
 * notification comes catches up with its own query once it is done.
 */
class LiveFeed {
  readonly #rhizome: RhizomeService;
  readonly #rows: BundleRows;
  readonly #waiters = new Set<Waiter>();
  #unsubscribe: (() => void) | undefined;
  #scheduled: NodeJS.Immediate | undefined;
  #delivering: Promise<void> = Promise.resolve();

  constructor(rhizome: RhizomeService, rows: BundleRows) {
    this.#rhizome = rhizome;
    this.#rows = rows;
  }

  join(filter: BundleFilter, after: number, endAt: number, signal: AbortSignal): Waiter {
    const waiter = new Waiter(filter, after, endAt, signal, () => this.#leave(waiter));
    this.#waiters.add(waiter);
    this.#unsubscribe ??= this.#rhizome.subscribe(() => this.#added());
    return waiter;
  }

  #leave(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    if (this.#waiters.size > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #added(): void {
    for (const waiter of this.#waiters) if (!waiter.waiting) waiter.behind = true;
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(() => this.#deliver());
  }

  #deliver(): void {
    this.#scheduled = undefined;
    this.#delivering = this.#delivering.then(() => this.#deliverGroups()).catch(() => undefined);
  }

  /**
   * One delivery at a time (they are chained), so two notifications close together never read
   * the same rows for the same group. A long-poll that is not waiting when a delivery starts (it
   * is still writing the rows of the one before, which ran while this notification came) must
   * catch up with its own query: nothing else would hand it the rows this notification announced.
   */
  async #deliverGroups(): Promise<void> {
    for (const waiter of this.#waiters) if (!waiter.waiting) waiter.behind = true;
    const groups = new Map<string, Waiter[]>();
    for (const waiter of this.#waiters) {
      if (!waiter.waiting) continue;
      const key = `${waiter.last}\0${waiter.filterKey}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [waiter]);
      else group.push(waiter);
    }
    for (const group of groups.values()) {
      const first = group[0]!;
      const from = first.last;
      const rows: Row[] = [];
      let last = from;
      for await (const batch of this.#rhizome.listSince(first.filter, from)) {
        for (const row of batch) {
          last = row.bundle.rowid;
          rows.push(this.#rows.row(row, encodeBundleToken(this.#rhizome.uuid, last)));
          if (rows.length === DELIVERY_ROWS) break;
        }
        if (rows.length === DELIVERY_ROWS) break;
      }
      if (rows.length === 0) continue;
      const more = rows.length === DELIVERY_ROWS;
      // Only those still waiting where the query began: the others were served meanwhile.
      for (const waiter of group) if (waiter.waiting && waiter.last === from) waiter.deliver(rows, last, more);
    }
  }
}

/** Most rows one notification hands out at once; a long-poll fetches the rest itself. */
const DELIVERY_ROWS = 256;

type Wake = { readonly kind: 'end' } | { readonly kind: 'rows'; readonly rows: readonly Row[]; readonly more: boolean };
const END: Wake = { kind: 'end' };

/** One long-poll: its position, one timer and one abort listener for its whole life. */
class Waiter {
  readonly filterKey: string;
  /** Row id of the last row this long-poll has been given. */
  last: number;
  /** Rows were added while it was not waiting: it must catch up with its own query. */
  behind = false;
  #wake: ((wake: Wake) => void) | undefined;
  #ended = false;
  readonly #timer: NodeJS.Timeout;
  readonly #signal: AbortSignal;
  readonly #onAbort = (): void => this.#end();
  readonly #left: () => void;

  constructor(
    readonly filter: BundleFilter,
    after: number,
    endAt: number,
    signal: AbortSignal,
    left: () => void,
  ) {
    this.filterKey = [filter.service, filter.name, filter.sender?.toString('hex'), filter.recipient?.toString('hex')].join('\0');
    this.last = after;
    this.#left = left;
    this.#signal = signal;
    this.#timer = setTimeout(this.#onAbort, Math.max(0, endAt - Date.now()));
    signal.addEventListener('abort', this.#onAbort, { once: true });
    if (signal.aborted) this.#end();
  }

  get waiting(): boolean {
    return this.#wake !== undefined;
  }

  /** Resolves with rows for this long-poll, or with the end (timeout, client gone). */
  wait(): Promise<Wake> {
    if (this.#ended) return Promise.resolve(END);
    return new Promise((resolve) => (this.#wake = resolve));
  }

  deliver(rows: readonly Row[], last: number, more: boolean): void {
    this.last = last;
    this.#resolve({ kind: 'rows', rows, more });
  }

  leave(): void {
    this.#end();
    clearTimeout(this.#timer);
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#left();
  }

  #end(): void {
    this.#ended = true;
    this.#resolve(END);
  }

  #resolve(wake: Wake): void {
    const resolve = this.#wake;
    this.#wake = undefined;
    resolve?.(wake);
  }
}

/**
 * Rows after `after`, oldest first, then every row stored until `endAt` as it arrives. Waiting
 * costs nothing: the long-poll sleeps until the feed hands it rows, its timer fires or its client
 * goes away.
 */
async function* liveRows(
  feed: LiveFeed,
  rhizome: RhizomeService,
  bundleRows: BundleRows,
  filter: BundleFilter,
  after: number,
  endAt: number,
  signal: AbortSignal,
): AsyncGenerator<Row> {
  const waiter = feed.join(filter, after, endAt, signal);
  try {
    let catchUp = true;
    for (;;) {
      if (catchUp) {
        waiter.behind = false;
        for await (const batch of bundleRows.rows(rhizome.listKeys(filter, waiter.last), (rowid) => encodeBundleToken(rhizome.uuid, rowid), true)) {
          waiter.last = batch.last;
          yield batch;
        }
        if (waiter.behind) continue;
      }
      const wake = await waiter.wait();
      if (wake.kind === 'end') return;
      yield* wake.rows;
      catchUp = wake.more || waiter.behind;
    }
  } finally {
    waiter.leave();
  }
}

export interface RhizomeReadHandlers {
  readonly list: Handler;
  readonly newsince: Handler;
  readonly manifest: Handler;
  readonly raw: Handler;
  readonly decrypted: Handler;
}

export function rhizomeReadHandlers(rhizome: RhizomeService, newsinceTimeoutMs: () => number): RhizomeReadHandlers {
  const bundleRows = new BundleRows(rhizome);
  const feed = new LiveFeed(rhizome, bundleRows);
  const payload = (decrypt: boolean): Handler => async (ctx) => {
    const bid = Buffer.from(ctx.params.bid!, 'hex');
    // A journal appended to between reading its manifest and opening its payload is served as
    // stored now. Each retry needs yet another commit to land in that gap of a few statements.
    for (let attempt = 1; ; attempt++) {
      const answer = await servePayload(bid, decrypt, ctx, attempt < REPLACED_ATTEMPTS);
      if (answer !== undefined) return answer;
    }
  };

  /** One attempt; undefined when the bundle was replaced meanwhile and `retry` allows another. */
  const servePayload = async (bid: Buffer, decrypt: boolean, ctx: RequestContext, retry: boolean): Promise<Result | undefined> => {
    const found = await rhizome.manifest(bid);
    if (!found.bundle) return rhizomeResult(found);
    const length = Number(found.bundle.manifest.filesize ?? 0n);
    // Parsed after the lookup: an unknown bundle is 404 whatever its Range header says.
    // Node joins repeated headers with commas; the reference reads the first Range only.
    const rangeHeader = ctx.req.headersDistinct.range?.[0];
    const range = resolveRange(rangeHeader === undefined ? undefined : parseRange(rangeHeader), length, 'whole');
    if (range.kind === 'unsatisfiable') {
      return {
        kind: 'json',
        status: 416,
        headers: { ...rhizomeHeaders(found), 'Content-Range': unsatisfiableRangeHeader(length) },
      };
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end + 1] : [0, length];
    const opened = await rhizome.openPayload(found.bundle, decrypt, start, end);
    if (opened.kind === 'replaced' && retry) return undefined;
    if (opened.kind !== 'payload') return rhizomeResult(opened.reply);
    const headers: Record<string, string> = rhizomeHeaders(opened.reply);
    if (range.kind === 'partial') headers['Content-Range'] = contentRangeHeader(range.start, range.end, length);
    return {
      kind: 'body',
      // The reference keeps its 200's reason on a 206: "206 OK" (spec §1.13).
      status: range.kind === 'partial' ? 206 : 200,
      reason: 'OK',
      contentType: 'application/octet-stream',
      headers,
      length: end - start,
      body: opened.stream,
    };
  };

  return {
    list(ctx) {
      // Only the newest row carries a token: nothing listed is newer (spec §3.3). A generator,
      // not an array: the list streams however long it is.
      const rows = bundleRows.rows(rhizome.listKeys(filterOf(ctx)), (rowid) => encodeBundleToken(rhizome.uuid, rowid), false);
      return { kind: 'table', columns: BUNDLE_COLUMNS, rows };
    },

    newsince(ctx) {
      let after = 0;
      const token = ctx.params.token;
      if (token !== undefined) {
        const rowid = decodeBundleToken(token, rhizome.uuid);
        if (rowid === undefined) fail('HTTP_NOT_FOUND', { reason: 'Invalid token' });
        after = rowid;
      }
      const endAt = ctx.startedAt + newsinceTimeoutMs();
      return { kind: 'table', columns: BUNDLE_COLUMNS, live: true, rows: liveRows(feed, rhizome, bundleRows, filterOf(ctx), after, endAt, ctx.signal) };
    },

    async manifest(ctx) {
      const found = await rhizome.manifest(Buffer.from(ctx.params.bid!, 'hex'));
      if (!found.bundle) return rhizomeResult(found);
      return { ...rhizomeResult({ ...found, manifestBody: true }) };
    },

    raw: payload(false),
    decrypted: payload(true),
  };
}
