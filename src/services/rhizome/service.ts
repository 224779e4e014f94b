/**
 * The Rhizome service: the store seen through the keyring. Reads authenticate authors and
 * decrypt payloads for unlocked identities; writes are sessions (add-session.ts,
 * import-session.ts).
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { isSidOfBundle } from '../../crypto/bundle-keys.js';
import { createPayloadCipherStream, payloadNonce } from '../../crypto/payload-cipher.js';
import type { Logger } from '../../log.js';
import type { BundleFilter, ListedBundle, ListedKeys, RhizomeStore, StoreFacts } from '../../store/rhizome/types.js';
import type { KeyringService } from '../keyring/types.js';
import { AddBundleSession } from './add-session.js';
import { ImportBundleSession } from './import-session.js';
import { payloadKey } from './payload-key.js';
import { BundleStatus, PayloadStatus } from './status.js';
import { describeStored } from './store-outcomes.js';
import type { BundleView, ImportOptions, ListRow, PayloadOpening, RhizomeReply, RhizomeService } from './types.js';

export interface RhizomeServiceOptions {
  readonly store: RhizomeStore;
  readonly keyring: KeyringService;
  readonly log: Logger;
  readonly now?: () => number;
}

const NO_AUTHOR = Object.freeze({ author: undefined, fromhere: 0 as const });

class Rhizome implements RhizomeService {
  private readonly store: RhizomeStore;
  private readonly keyring: KeyringService;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly selfSignedRows = new WeakMap<ListedBundle, boolean>();

  constructor(options: RhizomeServiceOptions) {
    this.store = options.store;
    this.keyring = options.keyring;
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  get uuid(): Buffer {
    return this.store.uuid;
  }

  /**
   * `.author` and `.fromhere` of a list row, cheaply, with no signature checks (spec §3.3): the
   * recorded author if unlocked, else the sender if unlocked, else the sender of a self-signed
   * bundle (not from here).
   */
  private row(bundle: ListedBundle): ListRow {
    return { bundle, ...this.authorship(bundle.author, bundle.sender === undefined ? undefined : bundle) };
  }

  authorship(author: Buffer | undefined, sent: ListedBundle | undefined): Pick<ListRow, 'author' | 'fromhere'> {
    if (author && this.keyring.find(author)) return { author, fromhere: 1 };
    const sender = sent?.sender;
    if (sender) {
      if (this.keyring.find(sender)) return { author: sender, fromhere: 1 };
      if (this.selfSigned(sent)) return { author: sender, fromhere: 0 };
    }
    return NO_AUTHOR;
  }

  /** True when a row's sender is its bundle's own key (a MeshMB feed): fixed, so worked out once. */
  private selfSigned(bundle: ListedBundle): boolean {
    let known = this.selfSignedRows.get(bundle);
    if (known === undefined) {
      known = isSidOfBundle(bundle.bid, bundle.sender!);
      this.selfSignedRows.set(bundle, known);
    }
    return known;
  }

  listKeys(filter: BundleFilter, since?: number): AsyncIterable<ListedKeys> {
    return this.store.listKeys(filter, since === undefined ? { order: 'desc' } : { order: 'asc', afterRowid: since });
  }

  async listRows(rowids: readonly number[]): Promise<readonly ListRow[]> {
    return (await this.store.listedByRowid(rowids)).map((bundle) => this.row(bundle));
  }

  list(filter: BundleFilter): AsyncIterable<readonly ListRow[]> {
    return this.rows(this.store.listColumns(filter, { order: 'desc' }));
  }

  listSince(filter: BundleFilter, afterRowid: number): AsyncIterable<readonly ListRow[]> {
    return this.rows(this.store.listColumns(filter, { order: 'asc', afterRowid }));
  }

  private async *rows(batches: AsyncIterable<readonly ListedBundle[]>): AsyncGenerator<readonly ListRow[]> {
    for await (const batch of batches) yield batch.map((bundle) => this.row(bundle));
  }

  async stats(): Promise<{ bundles: number; bytes: number }> {
    const [bundles, bytes] = await Promise.all([this.store.bundleCount(), this.store.usedBytes()]);
    return { bundles, bytes };
  }

  async facts(): Promise<StoreFacts> {
    return this.store.facts();
  }

  subscribe(listener: (bundle: ListedBundle) => void): () => void {
    return this.store.subscribe(listener);
  }

  async manifest(bid: Buffer): Promise<RhizomeReply> {
    const stored = await this.store.get(bid);
    if (!stored) return { outcome: { http: 404, reason: 'Bundle not found', bundle: BundleStatus.NEW } };
    return { ...await describeStored(stored, this.keyring, this.store), outcome: { http: 200, bundle: BundleStatus.SAME } };
  }

  async openPayload(bundle: BundleView, decrypt: boolean, start: number, end: number): Promise<PayloadOpening> {
    const m = bundle.manifest;
    const found = { http: 200, bundle: BundleStatus.SAME };
    const filesize = m.filesize ?? 0n;
    if (filesize === 0n) return { kind: 'payload', reply: { outcome: found, bundle }, stream: () => new PassThrough().end() };
    const hash = m.filehash!;
    const notFound: PayloadOpening = {
      kind: 'reply',
      reply: { outcome: { ...found, http: 404, reason: 'Payload not found', payload: PayloadStatus.NEW }, bundle },
    };
    // Not held: gone for good (404), or replaced by a newer version meanwhile (read that one).
    const gone = async (): Promise<PayloadOpening> =>
      ((await this.store.get(m.id!))?.version ?? m.version) !== m.version ? { kind: 'replaced', reply: notFound.reply } : notFound;
    if ((await this.store.payloadLength(hash)) === undefined) return gone();
    let key: Buffer | undefined;
    if (decrypt && m.crypt) {
      const author = bundle.author ? this.keyring.find(bundle.author) : undefined;
      key = payloadKey({ bid: m.id!, sender: m.sender, recipient: m.recipient }, this.keyring, bundle.secret, author);
      if (!key) {
        return {
          kind: 'reply',
          reply: { outcome: { ...found, http: 419, reason: 'Payload decryption error', payload: PayloadStatus.CRYPTO_FAIL }, bundle },
        };
      }
    }
    // Opened now, not when the body is written: a payload whose file has gone (deleted from
    // outside, or evicted since the row was read) is a 404 "Payload not found" here rather than
    // a response cut off after its headers. The open descriptor also keeps the bytes readable if
    // the payload is evicted while it streams.
    const raw = await this.store.readPayload(hash, start, end);
    if (!raw) return gone();
    let taken = false;
    // Whoever asked for the payload writes it at once; if nothing does, the descriptor is closed.
    setImmediate(() => {
      if (!taken) raw.destroy();
    }).unref();
    const opened = { ...found, payload: PayloadStatus.STORED };
    const cipherKey = key;
    const stream = (): Readable => {
      taken = true;
      if (!cipherKey) return raw;
      // The stream cipher allows random access: logical offsets include a journal's tail.
      const cipher = createPayloadCipherStream({
        key: cipherKey,
        nonce: payloadNonce(m.id!, m.version!, m.isJournal),
        offset: (m.tail ?? 0n) + BigInt(start),
      });
      // pipeline, not pipe: a client that goes away destroys the cipher, and with it the file.
      return pipeline(raw, cipher, () => undefined);
    };
    return { kind: 'payload', reply: { outcome: opened, bundle }, stream };
  }

  beginAdd(appending: boolean): AddBundleSession {
    return new AddBundleSession({ store: this.store, keyring: this.keyring, log: this.log, now: this.now }, appending);
  }

  async beginImport(
    expected: { readonly id: Buffer; readonly version: bigint } | undefined,
    options: ImportOptions = {},
  ): Promise<ImportBundleSession | RhizomeReply> {
    if (expected) {
      const stored = await this.store.get(expected.id);
      if (stored && stored.version === expected.version) {
        const held = stored.filesize === 0n || (stored.filehash && (await this.store.payloadLength(stored.filehash)) !== undefined);
        if (held) {
          return {
            outcome: { bundle: BundleStatus.SAME, payload: stored.filesize === 0n ? PayloadStatus.EMPTY : PayloadStatus.STORED },
            early: { id: expected.id, version: expected.version, filesize: stored.filesize },
          };
        }
      }
    }
    return new ImportBundleSession({ store: this.store, keyring: this.keyring, log: this.log }, expected, options);
  }
}

export function createRhizomeService(options: RhizomeServiceOptions): RhizomeService {
  return new Rhizome(options);
}
