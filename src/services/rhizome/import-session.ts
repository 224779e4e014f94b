/**
 * Import (spec §3.10): storing a bundle signed elsewhere, exactly as it was signed. The payload
 * must arrive as stored (already encrypted if `crypt=1`) and match the manifest's size and hash.
 *
 * Unlike the reference, a zero-length bundle can be imported (it needs no payload part), a
 * journal imports like any bundle instead of aborting the daemon, and a payload already in the
 * store is read and checked rather than answered early without storing (spec §9.3 #33, #34a).
 */
import { verifyManifestSignature } from '../../crypto/bundle-keys.js';
import { isTendrilError } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { manifestProblems, parseManifest, type Manifest } from '../../formats/manifest.js';
import type { Logger } from '../../log.js';
import type { FinishedPayload, PayloadWriter, RhizomeStore } from '../../store/rhizome/types.js';
import type { KeyringService } from '../keyring/types.js';
import { bundleColumns } from './columns.js';
import { BundleStatus, PayloadStatus, type RhizomeOutcome } from './status.js';
import { describeStored, roomOutcome, statusIfReadable, storeFailure } from './store-outcomes.js';
import type { ImportOptions, ImportSession, RhizomeReply } from './types.js';

export interface ImportDeps {
  readonly store: RhizomeStore;
  readonly keyring: KeyringService;
  readonly log: Logger;
}

export class ImportBundleSession implements ImportSession {
  private manifest: Manifest | undefined;
  private signed: Buffer | undefined;
  private writer: PayloadWriter | undefined;
  private received = 0n;
  /** The store failed while the payload streamed in (a full disk): the answer at end of body. */
  private failed: RhizomeReply | undefined;

  constructor(
    private readonly deps: ImportDeps,
    private readonly expected: { readonly id: Buffer; readonly version: bigint } | undefined,
    private readonly options: ImportOptions = {},
  ) {}

  get expectsPayload(): boolean {
    return (this.manifest?.filesize ?? 0n) > 0n;
  }

  private reply(outcome: RhizomeOutcome): RhizomeReply {
    const m = this.manifest;
    return { outcome, bundle: m && this.signed ? { manifest: m, signed: this.signed } : undefined };
  }

  async setManifest(bytes: Buffer): Promise<RhizomeReply | undefined> {
    let m: Manifest;
    try {
      m = parseManifest(bytes);
    } catch (err) {
      if (isTendrilError(err) && err.code === 'RHIZOME_MANIFEST_INVALID') return { outcome: { bundle: BundleStatus.INVALID } };
      throw err;
    }
    this.manifest = m;
    this.signed = bytes;
    const carry = this.options.carryMalformed === true;
    if (m.malformed && !carry) return this.reply({ bundle: BundleStatus.INVALID, bundleMessage: `Malformed manifest: ${m.malformed}` });
    const problems = manifestProblems(m);
    const invalid = problems.invalid ?? (carry ? undefined : problems.malformed);
    if (invalid) return this.reply({ bundle: BundleStatus.INVALID, bundleMessage: invalid });
    if (this.expected && (!this.expected.id.equals(m.id!) || this.expected.version !== m.version)) {
      return this.reply({ bundle: BundleStatus.INVALID, bundleMessage: 'Manifest does not match id/version query parameters' });
    }
    if (!verifyManifestSignature(bytes, m.id)) return this.reply({ bundle: BundleStatus.FAKE });
    const stored = await this.deps.store.get(m.id!);
    if (stored && stored.version >= m.version!) {
      const newer = stored.version > m.version!;
      return {
        ...(await describeStored(stored, this.deps.keyring, this.deps.store)),
        // No base status: the bundle status lends its message as the reason (spec §3.1).
        outcome: { bundle: newer ? BundleStatus.OLD : BundleStatus.SAME },
      };
    }
    return undefined;
  }

  async openPayload(): Promise<RhizomeReply | undefined> {
    const m = this.manifest!;
    const refused = await roomOutcome(this.deps.store, Number(m.filesize), this.deps.log, BundleStatus.NEW);
    if (refused) return this.reply(refused);
    this.writer = this.deps.store.createPayloadWriter();
    return undefined;
  }

  async writePayload(chunk: Buffer): Promise<void> {
    const declared = this.manifest!.filesize!;
    const start = this.received;
    this.received += BigInt(chunk.length);
    const bytes = this.received > declared ? chunk.subarray(0, Math.max(0, Number(declared - start))) : chunk;
    if (bytes.length === 0 || this.failed !== undefined) return;
    try {
      await this.writer!.write(bytes);
    } catch (err) {
      // ENOSPC mid-upload is answered as at the end (202 "No room"), once the body is discarded.
      this.failed = { ...storeFailure(err, this.deps.log), bundle: this.reply({}).bundle };
      await this.abort();
    }
  }

  async finish(): Promise<RhizomeReply> {
    const m = this.manifest!;
    const { store, keyring, log } = this.deps;
    const declared = m.filesize ?? 0n;
    if (this.failed !== undefined) return this.failed;
    let payload: FinishedPayload | undefined;
    // Whether the store already holds the payload: looked up only when a limit applies or the
    // commit fails; a commit reports it itself (as insert does, add-session.ts).
    let held: boolean | undefined;
    const payloadStatus = async (): Promise<PayloadStatus> => {
      if (payload === undefined) return PayloadStatus.EMPTY;
      const { hash } = payload;
      held ??= (await store.payloadLength(hash)) !== undefined;
      return held ? PayloadStatus.STORED : PayloadStatus.NEW;
    };
    if (declared > 0n) {
      if (this.received !== declared) {
        await this.abort();
        return this.reply({
          reason: 'Inconsistent filesize',
          bundle: BundleStatus.INCONSISTENT,
          bundleMessage: `Payload size (${this.received}) contradicts manifest (filesize=${declared})`,
          payload: PayloadStatus.WRONG_SIZE,
        });
      }
      try {
        payload = await this.writer!.finish();
      } catch (err) {
        await this.abort();
        return { ...storeFailure(err, log), bundle: this.reply({}).bundle };
      }
      if (!payload.hash.equals(m.filehash!)) {
        await this.abort();
        return this.reply({
          reason: 'Inconsistent filehash',
          bundle: BundleStatus.INCONSISTENT,
          bundleMessage: `Payload hash (${toHex(payload.hash)}) contradicts manifest (filehash=${toHex(m.filehash!)})`,
          payload: PayloadStatus.WRONG_HASH,
        });
      }
      if (store.limited() && (await payloadStatus()) === PayloadStatus.NEW) {
        // Room was made when the payload began; other bundles may have taken it while the payload
        // streamed in, so the store's rule is checked again before committing (as insert does).
        const refused = await roomOutcome(store, payload.length, log, BundleStatus.NO_ROOM);
        if (refused) {
          await this.abort();
          return this.reply(refused);
        }
      }
    }
    let committed;
    try {
      committed = await store.commit(bundleColumns(m, this.signed!), payload ?? { kind: 'empty' });
    } catch (err) {
      await this.abort();
      return { ...storeFailure(err, log, await statusIfReadable(payloadStatus)), bundle: this.reply({}).bundle };
    }
    this.writer = undefined;
    switch (committed.kind) {
      case 'new':
        held ??= !committed.payloadAdded;
        return {
          outcome: { http: 201, bundle: BundleStatus.NEW, payload: await payloadStatus() },
          bundle: { manifest: m, signed: this.signed!, rowid: committed.bundle.rowid, inserttime: committed.bundle.inserttime },
        };
      case 'same':
      case 'old': {
        const status = await payloadStatus();
        const outcome = committed.kind === 'same' ? { http: 200, bundle: BundleStatus.SAME } : { http: 202, bundle: BundleStatus.OLD };
        return { ...(await describeStored(committed.bundle, keyring, store)), outcome: { ...outcome, payload: status } };
      }
    }
  }

  async abort(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await writer.abort();
  }
}
