/**
 * Bundle list rows (spec §3.3, §3.4) rendered once per row id and kept, so that a listing costs
 * about what writing its bytes costs (docs/benchmarks.md).
 *
 * Every column of a row is fixed for its row id (a new version of a bundle is a new row) except
 * `.author` and `.fromhere`, which follow the recorded author (written in place once proven) and
 * the keyring (which identities are unlocked now), and `.token`, which depends on the listing. So a
 * row is kept as the JSON before `.author` and after `.fromhere`; a listing reads only row ids and
 * recorded authors from the store (listKeys), fetches and renders the rows it has not seen, and
 * joins each row from its kept parts with its author, from-here flag and token of the moment.
 *
 * Rows come out in batches, one string per store batch, so the table writer handles a few dozen
 * strings for a long list, not one promise per row.
 */
import type { JsonValue } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import type { ListedBundle, ListedKeys } from '../../store/rhizome/types.js';
import type { ListRow, RhizomeService } from '../../services/rhizome/types.js';
import { jsonValue, RenderedRow } from '../json.js';

/** Rows kept at most (a few hundred bytes each); beyond, the longest kept are forgotten first. */
const MAX_KEPT = 32_768;
/** Bytes of whole batches kept at most; beyond, the longest kept are forgotten first. */
const MAX_BATCH_CHARS = 8 * 1024 * 1024;
/** How a plain row begins: no token. */
const PLAIN_START = '[null';
/** Between two rows of a table (json.ts jsonTableRow). */
const ROW_SEPARATOR = ',\n';

interface Kept {
  /** `,_id,service,id,version,date,.inserttime,` */
  readonly head: string;
  /** `,filesize,filehash,sender,recipient,name]` */
  readonly tail: string;
  /** The row, when it names a sender (its `.author` may then be the sender). */
  readonly sent: ListedBundle | undefined;
  /** The whole row as most listings show it: no token, no author, not from here. */
  readonly plain: string;
}

/** Some rows of a table, rendered and joined: the row id of the last, and how many. */
export class RenderedRows extends RenderedRow {
  constructor(
    json: string | Buffer,
    readonly last: number,
    readonly count: number,
  ) {
    super(json);
  }
}

const hexOrNull = (bytes: Buffer | undefined): JsonValue => (bytes ? toHex(bytes) : null);

export class BundleRows {
  readonly #rhizome: RhizomeService;
  readonly #kept = new Map<number, Kept>();
  /**
   * The kept row ids, oldest first (from `#oldest` on), so the oldest is evicted without asking the
   * Map for its first key: a Map that has rows deleted from its front keeps their empty slots
   * until it is rebuilt, and walking past them made a listing of a million rows spend a fifth of
   * its time here.
   */
  #order: number[] = [];
  #oldest = 0;
  /**
   * Whole batches of plain rows (no token, author or sender), by their first row id: a listing
   * of rows that have not changed since the last is then a comparison of row ids per batch.
   */
  readonly #batches = new Map<number, { readonly rowids: readonly number[]; readonly json: Buffer }>();
  #batchChars = 0;

  constructor(rhizome: RhizomeService) {
    this.#rhizome = rhizome;
  }

  /**
   * The rows of `keys` (a listing's row ids and authors, in its order), in batches, with the
   * `.token` of each row (`every`: a newsince listing) or of the listing's first row only.
   */
  async *rows(keys: AsyncIterable<ListedKeys>, token: (rowid: number) => string, every: boolean): AsyncGenerator<RenderedRows> {
    let first = true; // no row written yet: the next carries the listing's token
    for await (const { rowids, authors } of keys) {
      // The same rows as last time, none with an author or a sender: the batch as it was.
      const same = every || authors.size > 0 ? undefined : this.#sameBatch(rowids);
      const head = same === undefined || !first ? undefined : this.#kept.get(rowids[0]!);
      if (same !== undefined && (!first || head !== undefined)) {
        const last = rowids.at(-1)!;
        if (head === undefined) {
          yield new RenderedRows(same, last, rowids.length);
        } else {
          // The listing's first row carries its token; the others are the kept bytes after it.
          yield new RenderedRows(this.#join(head, rowids[0]!, undefined, token(rowids[0]!)), rowids[0]!, 1);
          if (rowids.length > 1) yield new RenderedRows(same.subarray(head.plain.length + ROW_SEPARATOR.length), last, rowids.length - 1);
        }
        first = false;
        continue;
      }
      const kept = rowids.map((rowid) => this.#kept.get(rowid));
      const missing = rowids.filter((_, i) => kept[i] === undefined);
      if (missing.length > 0) {
        const found = new Map((await this.#rhizome.listRows(missing)).map((row) => [row.bundle.rowid, this.#keep(row.bundle)]));
        for (let i = 0; i < rowids.length; i++) kept[i] ??= found.get(rowids[i]!);
      }
      const parts: string[] = [];
      let last = 0;
      let plain = !every && authors.size === 0;
      for (let i = 0; i < rowids.length; i++) {
        const k = kept[i];
        plain &&= k !== undefined && k.sent === undefined;
        if (k === undefined) continue; // gone since its key was read
        const rowid = rowids[i]!;
        parts.push(this.#join(k, rowid, authors.get(rowid), every || (first && parts.length === 0) ? token(rowid) : null));
        last = rowid;
      }
      if (parts.length === 0) continue;
      const json = parts.join(ROW_SEPARATOR);
      yield new RenderedRows(json, last, parts.length);
      if (plain) this.#keepBatch(rowids, first ? `${PLAIN_START}${json.slice(json.indexOf(kept[0]!.head))}` : json);
      first = false;
    }
  }

  /** The batch kept for these row ids, if it holds exactly these. */
  #sameBatch(rowids: readonly number[]): Buffer | undefined {
    const batch = this.#batches.get(rowids[0]!);
    if (batch === undefined || batch.rowids.length !== rowids.length) return undefined;
    for (let i = 0; i < rowids.length; i++) if (batch.rowids[i] !== rowids[i]) return undefined;
    return batch.json;
  }

  #keepBatch(rowids: readonly number[], text: string): void {
    const before = this.#batches.get(rowids[0]!);
    if (before !== undefined) this.#batchChars -= before.json.length;
    this.#batches.delete(rowids[0]!);
    // Rendered rows are ASCII (json.ts escapes everything else): latin1 is their bytes.
    const json = Buffer.from(text, 'latin1');
    this.#batches.set(rowids[0]!, { rowids: [...rowids], json });
    this.#batchChars += json.length;
    for (const [key, batch] of this.#batches) {
      if (this.#batchChars <= MAX_BATCH_CHARS) break;
      this.#batches.delete(key);
      this.#batchChars -= batch.json.length;
    }
  }

  /** One row (a long-poll's delivery), kept for later listings too. */
  row(row: ListRow, token: string | null): RenderedRow {
    const b = row.bundle;
    return new RenderedRow(this.#join(this.#kept.get(b.rowid) ?? this.#keep(b), b.rowid, b.author, token));
  }

  #join(kept: Kept, rowid: number, author: Buffer | undefined, token: string | null): string {
    const who = author === undefined && kept.sent === undefined ? undefined : this.#rhizome.authorship(author, kept.sent);
    if (token === null && who?.author === undefined) return kept.plain;
    return `[${token === null ? 'null' : jsonValue(token)}${kept.head}${jsonValue(hexOrNull(who?.author))},${who?.fromhere ?? 0}${kept.tail}`;
  }

  #keep(b: ListedBundle): Kept {
    const head = `,${[b.rowid, b.service ?? null, toHex(b.bid), b.version, b.date ?? null, b.inserttime].map(jsonValue).join(',')},`;
    const tail = `,${[b.filesize, hexOrNull(b.filehash), hexOrNull(b.sender), hexOrNull(b.recipient), b.name ?? null].map(jsonValue).join(',')}]`;
    const kept: Kept = { head, tail, sent: b.sender === undefined ? undefined : b, plain: `${PLAIN_START}${head}null,0${tail}` };
    this.#kept.set(b.rowid, kept);
    this.#order.push(b.rowid);
    while (this.#kept.size > MAX_KEPT) this.#kept.delete(this.#order[this.#oldest++]!);
    if (this.#oldest >= MAX_KEPT) {
      this.#order = this.#order.slice(this.#oldest);
      this.#oldest = 0;
    }
    return kept;
  }
}
