/**
 * The Rhizome service contract, as the HTTP handlers and the CLI see it. Requests that write
 * (insert, append, import) are sessions fed part by part as a multipart body streams in, because
 * the reference answers some of them before the payload arrives (spec §3.8 – §3.10).
 */
import type { Readable } from 'node:stream';
import type { Manifest } from '../../formats/manifest.js';
import type { BundleFilter, ListedBundle, ListedKeys, StoreFacts } from '../../store/rhizome/types.js';
import type { RhizomeOutcome } from './status.js';

/** A bundle as described by the `Serval-Rhizome-Bundle-*` headers (spec §3.2). */
export interface BundleView {
  readonly manifest: Manifest;
  /** The signed manifest bytes. */
  readonly signed: Buffer;
  /** The author SID, only when authorship is verified. */
  readonly author?: Buffer;
  /** The bundle secret, when known (supplied, or recovered through an unlocked author). */
  readonly secret?: Buffer;
  readonly rowid?: number;
  readonly inserttime?: number;
}

/** What a Rhizome request answers: statuses, and the bundle they concern. */
export interface RhizomeReply {
  readonly outcome: RhizomeOutcome;
  readonly bundle?: BundleView;
  /** Insert and append answer success with the signed manifest rather than a JSON result. */
  readonly manifestBody?: boolean;
  /** Import's early "already have it": the id and version asked about and the stored size. */
  readonly early?: { readonly id: Buffer; readonly version: bigint; readonly filesize: bigint };
}

/** One row of a bundle list (spec §3.3). */
export interface ListRow {
  /** Without the signed manifest: lists never show it. */
  readonly bundle: ListedBundle;
  /** `.author`: a SID or undefined. */
  readonly author: Buffer | undefined;
  /** `.fromhere`: 1 when an unlocked identity wrote it, else 0. */
  readonly fromhere: 0 | 1;
}

export type PayloadOpening =
  | { readonly kind: 'reply'; readonly reply: RhizomeReply }
  /**
   * A newer version replaced the bundle, and took its payload, between reading the manifest and
   * opening the payload (commits run on another thread; journals are appended to all the time):
   * read the manifest again and open that. `reply` is the 404 for a caller that stops trying.
   */
  | { readonly kind: 'replaced'; readonly reply: RhizomeReply }
  | {
      readonly kind: 'payload';
      readonly reply: RhizomeReply;
      /**
       * Bytes [start, end) of the payload (decrypted if asked and encrypted). The payload is
       * already open: call this in the same turn (it is closed on the next one if nobody did).
       */
      readonly stream: () => Readable;
    };

/** Feeding an insert or append, in the order the parts arrive. */
export interface AddSession {
  /** `bundle-author`, `bundle-secret` (hex or `#passphrase`), `bundle-id`: before the manifest. */
  setAuthor(sid: Buffer): void;
  setSecret(secret: Buffer): void;
  setBundleId(bid: Buffer): void;
  /** The partial manifest; a reply means answer now without reading further. */
  setManifest(text: Buffer): Promise<RhizomeReply | undefined>;
  /** The payload part begins; a reply means answer now (the payload is not read). */
  openPayload(filename: string | undefined): Promise<RhizomeReply | undefined>;
  writePayload(chunk: Buffer): Promise<void>;
  /** End of body: store the bundle (or say why not). */
  finish(): Promise<RhizomeReply>;
  /** Discards whatever was written. */
  abort(): Promise<void>;
}

/** Feeding an import. */
export interface ImportSession {
  setManifest(bytes: Buffer): Promise<RhizomeReply | undefined>;
  /** True when the manifest says there is no payload (filesize 0): a payload part is spurious. */
  readonly expectsPayload: boolean;
  openPayload(): Promise<RhizomeReply | undefined>;
  writePayload(chunk: Buffer): Promise<void>;
  finish(): Promise<RhizomeReply>;
  abort(): Promise<void>;
}

/** How an import judges manifests. */
export interface ImportOptions {
  /**
   * True for bundles arriving by sync (Rhizome Direct): a manifest whose non-core fields are
   * missing or malformed (a file without a name, a service without a date) is carried, as the
   * reference's sync carries it; the REST import refuses it (spec §7.3.3).
   */
  readonly carryMalformed?: boolean;
}

export interface RhizomeService {
  /** The store's UUID, for newsince tokens. */
  readonly uuid: Buffer;
  /** Bundles, most recently stored first, in batches (never empty) as the store reads them. */
  list(filter: BundleFilter): AsyncIterable<readonly ListRow[]>;
  /** Bundles stored after `afterRowid`, oldest first, in batches. */
  listSince(filter: BundleFilter, afterRowid: number): AsyncIterable<readonly ListRow[]>;
  /**
   * The row ids and recorded authors of list(filter) — or of listSince(filter, since) when `since`
   * is given — in batches: all a cache of rendered rows needs from the store per listing.
   */
  listKeys(filter: BundleFilter, since?: number): AsyncIterable<ListedKeys>;
  /** The rows of these row ids that are still stored, in any order. */
  listRows(rowids: readonly number[]): Promise<readonly ListRow[]>;
  /**
   * `.author` and `.fromhere` of a row, now (spec §3.3): from its recorded author and, when the row
   * names a sender (`sent`), that sender.
   */
  authorship(author: Buffer | undefined, sent: ListedBundle | undefined): Pick<ListRow, 'author' | 'fromhere'>;
  /** How many bundles are stored and how many bytes the store uses. */
  stats(): Promise<{ readonly bundles: number; readonly bytes: number }>;
  /** The store's backend and health (/restful/system). */
  facts(): Promise<StoreFacts>;
  /**
   * Calls `listener` after each new bundle is stored (by this node, or by another node sharing
   * its store); returns the unsubscribe.
   */
  subscribe(listener: (bundle: ListedBundle) => void): () => void;

  /** GET BID.rhm: the bundle (authenticating its author) or 404 "Bundle not found". */
  manifest(bid: Buffer): Promise<RhizomeReply>;
  /**
   * GET BID/raw.bin or decrypted.bin, bytes [start, end) of a bundle `manifest()` found. The
   * caller resolves the Range against the bundle's filesize first.
   */
  openPayload(bundle: BundleView, decrypt: boolean, start: number, end: number): Promise<PayloadOpening>;

  beginAdd(appending: boolean): AddSession;
  /**
   * An import, optionally with the `id` and `version` of the query string: if the store already
   * has exactly that, the reply comes at once and the body need not be read.
   */
  beginImport(expected: { readonly id: Buffer; readonly version: bigint } | undefined, options?: ImportOptions): Promise<ImportSession | RhizomeReply>;
}
