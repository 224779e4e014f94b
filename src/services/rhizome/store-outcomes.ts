/**
 * Turning store results into Rhizome replies: a stored bundle described for the headers (its
 * author authenticated on the way, as the reference does on every read), and store failures as
 * the statuses clients expect.
 */
import { isTendrilError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RhizomeStore, StoredBundle } from '../../store/rhizome/types.js';
import type { KeyringService } from '../keyring/types.js';
import { deduceAuthor } from './author.js';
import { storedManifest } from './columns.js';
import { BundleStatus, PayloadStatus, type RhizomeOutcome } from './status.js';
import type { BundleView, RhizomeReply } from './types.js';

/**
 * A stored bundle as the headers describe it. Authenticating its author may record that author
 * in the store, as the reference does when it first proves one (spec §7.7).
 */
export async function describeStored(stored: StoredBundle, keyring: KeyringService, store: RhizomeStore): Promise<{ bundle: BundleView }> {
  const manifest = storedManifest(stored);
  const authorship = deduceAuthor({ bid: stored.bid, bk: manifest.bk, sender: manifest.sender }, keyring, { author: stored.author });
  let author: Buffer | undefined;
  let secret: Buffer | undefined;
  if (authorship.kind === 'authentic') {
    author = authorship.identity.sid;
    secret = authorship.secret;
    if (!stored.author) {
      try {
        await store.setAuthor(stored.bid, stored.version, author);
      } catch (err) {
        // Recording the author is a courtesy; a store locked by another process, or a full disk,
        // must not turn a read into a failure. It is recorded at a later read.
        const busy = isTendrilError(err) && err.code === 'RHIZOME_BUSY';
        if (!busy && (err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  }
  return {
    bundle: { manifest, signed: stored.manifest, author, secret, rowid: stored.rowid, inserttime: stored.inserttime },
  };
}

/** A failure of the store while writing a payload or committing, as a reply. */
export function storeFailure(err: unknown, log: Logger, payload?: PayloadStatus): RhizomeReply {
  if (isTendrilError(err) && err.code === 'RHIZOME_BUSY') {
    return { outcome: { bundle: BundleStatus.BUSY, payload: payload ?? PayloadStatus.BUSY } };
  }
  if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
    return { outcome: { bundle: BundleStatus.NO_ROOM, payload: PayloadStatus.TOO_BIG } };
  }
  log.error({ err }, 'payload store error');
  return { outcome: { http: 500, reason: 'Payload store error', payload: PayloadStatus.ERROR } };
}

/** A payload status for a failure reply, if the store can still be read (it may be what failed). */
export async function statusIfReadable(status: () => Promise<PayloadStatus>): Promise<PayloadStatus | undefined> {
  try {
    return await status();
  } catch {
    return undefined;
  }
}

/**
 * Makes room for `length` more bytes (spec §7.10): undefined when there is room, else the
 * outcome to answer with. `bundle` is the bundle status to report: NEW for an answer given before
 * the payload is read (the reference keeps 0 there, spec §3.8.2), NO_ROOM at the end. A store
 * locked by another process is 423 with bundle status 9, like any other write that finds it so.
 */
export async function roomOutcome(store: RhizomeStore, length: number, log: Logger, bundle: BundleStatus): Promise<RhizomeOutcome | undefined> {
  let room;
  try {
    room = await store.makeRoom(length);
  } catch (err) {
    return storeFailure(err, log).outcome;
  }
  if (room === 'ok') return undefined;
  return { bundle, payload: room === 'too-big' ? PayloadStatus.TOO_BIG : PayloadStatus.EVICTED };
}
