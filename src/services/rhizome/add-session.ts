/**
 * Insert and append (spec §3.8, §3.9): building, authoring, encrypting, signing and storing a
 * bundle from a partial manifest and a streamed payload, step by step as the reference does, so
 * clients see the same statuses and messages at the same moments.
 *
 * Where the reference answers wrongly the session answers correctly instead: an explicit
 * `filesize=0`, or a `filehash` of a payload already stored, is stored rather than answered early
 * with a 201 that stored nothing (spec §3.8.2).
 */
import { basename } from 'node:path';
import {
  bundleKeyPairFromSecret,
  computeBundleKey,
  randomBundleKeyPair,
  signManifest,
  type BundleKeyPair,
} from '../../crypto/bundle-keys.js';
import { SID_BROADCAST } from '../../crypto/identity.js';
import { createPayloadCipher, payloadNonce, type PayloadCipher } from '../../crypto/payload-cipher.js';
import { isTendrilError } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import {
  buildManifestForAdd,
  manifestTooBig,
  parseManifest,
  serializeManifestText,
  validateManifest,
  type Manifest,
} from '../../formats/manifest.js';
import type { Logger } from '../../log.js';
import type { FinishedPayload, PayloadWriter, RhizomeStore } from '../../store/rhizome/types.js';
import type { Identity, KeyringService } from '../keyring/types.js';
import { deduceAuthor, type Authorship } from './author.js';
import { bundleColumns, storedManifest } from './columns.js';
import { findDuplicate } from './duplicates.js';
import { payloadKey } from './payload-key.js';
import { BundleStatus, PayloadStatus, type RhizomeOutcome } from './status.js';
import { describeStored, roomOutcome, statusIfReadable, storeFailure } from './store-outcomes.js';
import type { AddSession, BundleView, RhizomeReply } from './types.js';

export interface AddDeps {
  readonly store: RhizomeStore;
  readonly keyring: KeyringService;
  readonly log: Logger;
  readonly now: () => number;
}

const reply = (outcome: RhizomeOutcome, bundle?: BundleView): RhizomeReply => ({ outcome, bundle });

/** A payload of undeclared size is checked against the store's limits every this many bytes. */
const ROOM_CHECK_BYTES = 8 * 1024 * 1024;

/** How the bundle secret came to be known (the reference's haveSecret). */
type SecretOrigin = 'unknown' | 'new-id' | 'existing-id';

export class AddBundleSession implements AddSession {
  private author: Buffer | undefined;
  private secretPart: Buffer | undefined;
  private bundleId: Buffer | undefined;

  private manifest: Manifest | undefined;
  private secret: Buffer | undefined;
  /** The key pair derived while the manifest was set, kept so signing need not derive it again. */
  private keyPair: BundleKeyPair | undefined;
  private origin: SecretOrigin = 'unknown';
  private authorIdentity: Identity | undefined;
  /** Filesize named by the client (insert), to compare with what arrives. */
  private declaredSize: bigint | undefined;
  private declaredHash: Buffer | undefined;
  /** Append: the journal's stored length before this append. */
  private priorSize = 0n;

  private writer: PayloadWriter | undefined;
  private cipher: PayloadCipher | undefined;
  private received = 0;
  /** Set when a payload of undeclared size outgrew the store while streaming. */
  private overflow: RhizomeOutcome | undefined;
  private nextRoomCheck = ROOM_CHECK_BYTES;

  constructor(
    private readonly deps: AddDeps,
    private readonly appending: boolean,
  ) {}

  setAuthor(sid: Buffer): void {
    this.author = sid;
  }

  setSecret(secret: Buffer): void {
    this.secretPart = secret;
  }

  setBundleId(bid: Buffer): void {
    this.bundleId = bid;
  }

  /** The manifest part has ended (spec §3.8.1). */
  async setManifest(text: Buffer): Promise<RhizomeReply | undefined> {
    const { store, keyring, now } = this.deps;
    let partial: Manifest;
    try {
      partial = parseManifest(text, { partial: true });
    } catch (err) {
      if (isTendrilError(err) && err.code === 'RHIZOME_MANIFEST_INVALID') return reply({ bundle: BundleStatus.INVALID });
      throw err;
    }
    if (partial.malformed) {
      return reply({ bundle: BundleStatus.INVALID, bundleMessage: `Malformed manifest: ${partial.malformed}` });
    }

    let stored;
    try {
      stored = this.bundleId ? await store.get(this.bundleId) : undefined;
    } catch (err) {
      const busy = isTendrilError(err) && err.code === 'RHIZOME_BUSY';
      return reply({
        bundle: BundleStatus.BUSY,
        bundleMessage: busy
          ? 'Existing manifest not retrieved due to Rhizome store locking'
          : 'Error retrieving existing manifest from Rhizome store',
      });
    }
    const built = buildManifestForAdd(partial, stored && storedManifest(stored), { appending: this.appending });
    if ('reason' in built) return reply({ bundle: BundleStatus.INVALID, bundleMessage: built.reason });
    const m = built.manifest;
    if (this.appending && stored) this.priorSize = stored.filesize;

    if (this.secretPart) {
      const pair = bundleKeyPairFromSecret(this.secretPart);
      this.keyPair = pair;
      if (m.id) {
        if (!m.id.equals(pair.bid)) {
          return reply({ bundle: BundleStatus.READONLY, bundleMessage: 'Supplied bundle secret does not match Bundle Id' });
        }
        this.origin = 'existing-id';
      } else {
        m.id = pair.bid;
        this.origin = 'new-id';
      }
      this.secret = pair.secret;
    }
    if (m.service === undefined) m.service = 'file';

    // A bundle-author names the author of the new manifest — but, as in the reference, not when
    // the manifest was taken from the store: then the stored record (or the keyring) decides.
    let namedAuthor = stored ? stored.author : this.author;
    let authorship: Authorship = { kind: 'anonymous' };

    if (m.version === undefined) m.version = BigInt(now());
    if (this.origin === 'unknown') {
      if (m.id) {
        authorship = deduceAuthor({ bid: m.id, bk: m.bk, sender: m.sender }, keyring, { author: namedAuthor });
      } else {
        const pair = randomBundleKeyPair();
        this.keyPair = pair;
        m.id = pair.bid;
        this.secret = pair.secret;
        this.origin = 'new-id';
      }
    } else if (this.origin === 'existing-id') {
      authorship = deduceAuthor({ bid: m.id!, bk: m.bk, sender: m.sender }, keyring, {
        author: namedAuthor,
        knownSecret: this.secret,
      });
    }
    if (this.origin === 'new-id') {
      namedAuthor ??= m.sender;
      if (namedAuthor) {
        const identity = keyring.find(namedAuthor);
        if (identity) {
          m.bk = computeBundleKey(this.secret!, identity.rhizomeSecret, m.id!);
          authorship = { kind: 'authentic', identity, secret: this.secret! };
        } else {
          m.bk = undefined;
          authorship = { kind: 'unknown' };
        }
      }
    }
    switch (authorship.kind) {
      case 'unknown':
        return reply({ bundle: BundleStatus.READONLY, bundleMessage: 'Author is not in keyring' });
      case 'impostor':
        return reply({ bundle: BundleStatus.READONLY, bundleMessage: 'Incorrect author' });
      case 'authentic':
        this.authorIdentity = authorship.identity;
        this.secret ??= authorship.secret;
        break;
      default:
        break;
    }
    if (m.date === undefined) m.date = BigInt(now());
    if (m.crypt === undefined && m.recipient && !m.recipient.equals(SID_BROADCAST)) m.crypt = true;

    this.declaredSize = this.appending ? undefined : m.filesize;
    this.declaredHash = this.appending ? undefined : m.filehash;
    this.manifest = m;
    return undefined;
  }

  /** The payload part's headers have arrived (spec §3.8.2). */
  async openPayload(filename: string | undefined): Promise<RhizomeReply | undefined> {
    const m = this.manifest!;
    const { store, keyring } = this.deps;
    if (m.service?.toLowerCase() === 'file' && m.name === undefined && filename && !/[\r\n]/.test(filename)) {
      const name = basename(filename.replace(/\\/g, '/'));
      if (name) m.name = name;
    }
    const early = (payload: PayloadStatus): RhizomeReply => reply({ bundle: BundleStatus.NEW, payload });

    if (this.declaredSize !== undefined && this.declaredSize > 0n) {
      const refused = await roomOutcome(store, Number(this.declaredSize), this.deps.log, BundleStatus.NEW);
      if (refused) return reply(refused);
    }
    if (m.crypt) {
      const key = payloadKey({ bid: m.id!, sender: m.sender, recipient: m.recipient }, keyring, this.secret, this.authorIdentity);
      if (!key) return early(PayloadStatus.CRYPTO_FAIL);
      const tail = m.tail ?? 0n;
      this.cipher = createPayloadCipher({
        key,
        nonce: payloadNonce(m.id!, m.version!, m.isJournal),
        offset: tail + this.priorSize,
      });
    }
    this.writer = store.createPayloadWriter();
    if (this.appending && this.priorSize > 0n) {
      // The REST append copies the whole stored journal, then adds the new bytes (spec §3.9).
      const existing = m.filehash ? await store.readPayload(m.filehash) : undefined;
      if (!existing) return reply({ bundle: BundleStatus.NEW, payload: PayloadStatus.ERROR, http: 500, reason: 'Payload store error' });
      try {
        for await (const chunk of existing as AsyncIterable<Buffer>) await this.writer.write(chunk);
      } catch (err) {
        // A journal too big to copy onto a full disk (ENOSPC) is refused like any full-disk write.
        await this.abort();
        return storeFailure(err, this.deps.log);
      }
    }
    return undefined;
  }

  async writePayload(chunk: Buffer): Promise<void> {
    const start = this.received;
    this.received += chunk.length;
    // Bytes beyond a declared filesize are counted but not stored.
    let bytes = chunk;
    if (this.declaredSize !== undefined && BigInt(this.received) > this.declaredSize) {
      const keep = Math.max(0, Number(this.declaredSize) - start);
      bytes = chunk.subarray(0, keep);
    }
    if (bytes.length === 0 || this.overflow !== undefined) return;
    try {
      await this.writer!.write(this.cipher ? this.cipher.update(bytes) : bytes);
    } catch (err) {
      // The disk filled while the payload streamed in (ENOSPC): answered as a full disk met at
      // the end is (202 "No room", spec §3.8.3) once the rest of the upload has been discarded.
      this.overflow = storeFailure(err, this.deps.log).outcome;
      await this.abort();
      return;
    }
    // Size limits hold while streaming: a payload of unknown size that can no longer fit stops
    // being written, and the rest of the upload is read and discarded.
    if (this.declaredSize === undefined && this.received >= this.nextRoomCheck) {
      this.nextRoomCheck += ROOM_CHECK_BYTES;
      const refused = await roomOutcome(this.deps.store, this.writer!.length, this.deps.log, BundleStatus.NO_ROOM);
      if (refused) {
        this.overflow = refused;
        await this.abort();
      }
    }
  }

  /** End of body (spec §3.8.3, §3.9). */
  async finish(): Promise<RhizomeReply> {
    const m = this.manifest!;
    const { store, keyring } = this.deps;
    if (this.overflow !== undefined) return reply(this.overflow);
    const writer = this.writer!;
    const received = BigInt(this.received);

    if (this.declaredSize !== undefined && received !== this.declaredSize) {
      await this.abort();
      return reply({
        http: 0,
        reason: 'Inconsistent filesize',
        bundle: BundleStatus.INCONSISTENT,
        bundleMessage: `Payload size (${received}) contradicts manifest (filesize=${this.declaredSize})`,
        payload: PayloadStatus.WRONG_SIZE,
      });
    }
    let payload: FinishedPayload;
    try {
      payload = await writer.finish();
    } catch (err) {
      await this.abort();
      return storeFailure(err, this.deps.log);
    }
    if (this.declaredHash && !this.declaredHash.equals(payload.hash)) {
      await this.abort();
      return reply({
        reason: 'Inconsistent filehash',
        bundle: BundleStatus.INCONSISTENT,
        bundleMessage: `Payload hash (${toHex(payload.hash)}) contradicts manifest (filehash=${toHex(this.declaredHash)})`,
        payload: PayloadStatus.WRONG_HASH,
      });
    }
    if (this.appending) {
      m.filesize = BigInt(payload.length);
      m.version = (m.tail ?? 0n) + m.filesize;
      m.filehash = payload.length > 0 ? payload.hash : undefined;
    } else {
      m.filesize ??= BigInt(payload.length);
      if (payload.length > 0) m.filehash ??= payload.hash;
    }
    // Whether the store already holds the payload is looked up only when something needs it: a
    // limit to make room under, or an answer given before the commit. A commit reports it itself.
    let held: boolean | undefined;
    const payloadStatus = async (): Promise<PayloadStatus> => {
      if (payload.length === 0) return PayloadStatus.EMPTY;
      held ??= (await store.payloadLength(payload.hash)) !== undefined;
      return held ? PayloadStatus.STORED : PayloadStatus.NEW;
    };
    if (payload.length > 0 && store.limited() && (await payloadStatus()) === PayloadStatus.NEW) {
      const refused = await roomOutcome(store, payload.length, this.deps.log, BundleStatus.NO_ROOM);
      if (refused) {
        await this.abort();
        return reply(refused);
      }
    }

    const invalid = validateManifest(m);
    if (invalid) {
      await this.abort();
      return reply({ bundle: BundleStatus.INVALID, bundleMessage: invalid, payload: await payloadStatus() });
    }
    if (!this.secret) {
      await this.abort();
      return reply({ bundle: BundleStatus.READONLY, bundleMessage: 'Missing bundle secret', payload: await payloadStatus() });
    }

    // Duplicate detection: only for a bundle id made by this request with a verified author.
    if (this.origin === 'new-id' && this.authorIdentity && !m.isJournal) {
      const duplicate = await findDuplicate(store, m);
      if (duplicate) {
        await this.abort();
        const status = await payloadStatus();
        return { ...(await describeStored(duplicate, keyring, store)), outcome: { http: 200, bundle: BundleStatus.DUPLICATE, payload: status }, manifestBody: true };
      }
    }

    const text = serializeManifestText(m);
    const tooBig = manifestTooBig(text);
    if (tooBig) {
      await this.abort();
      return reply({ bundle: BundleStatus.MANIFEST_TOO_BIG, bundleMessage: tooBig, payload: await payloadStatus() });
    }
    const secretKey = this.keyPair?.secret.equals(this.secret) === true ? this.keyPair.secretKey : bundleKeyPairFromSecret(this.secret).secretKey;
    const signed = signManifest(text, secretKey);
    const author = this.authorIdentity?.sid;
    let committed;
    try {
      committed = await store.commit(
        bundleColumns(m, signed, author),
        payload.length === 0 ? { kind: 'empty' } : payload,
      );
    } catch (err) {
      await this.abort();
      return storeFailure(err, this.deps.log, await statusIfReadable(payloadStatus));
    }
    if (committed.kind !== 'new') {
      const http = committed.kind === 'old' ? 202 : 200;
      const bundle = committed.kind === 'old' ? BundleStatus.OLD : BundleStatus.SAME;
      const status = await payloadStatus();
      return { ...(await describeStored(committed.bundle, keyring, store)), outcome: { http, bundle, payload: status }, manifestBody: true };
    }
    held ??= !committed.payloadAdded;
    return {
      outcome: { http: 201, bundle: BundleStatus.NEW, payload: await payloadStatus() },
      bundle: {
        manifest: m,
        signed,
        author,
        secret: this.secret,
        rowid: committed.bundle.rowid,
        inserttime: committed.bundle.inserttime,
      },
      manifestBody: true,
    };
  }

  async abort(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await writer.abort();
  }
}
