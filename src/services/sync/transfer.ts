/**
 * Fetching one offered bundle from one peer (docs/sync.md §6.2), through the Rhizome service's
 * import session, which verifies everything (signature, version precedence, store room, size and
 * SHA-512) before anything is stored: a peer can make us store nothing that is not genuine.
 *
 *   1. the manifest (from the OFFER) goes to the session: a bad signature, an older version, a
 *      bundle already held all end here, before any payload byte is asked for;
 *   2. the session asks the store for room: a payload the store would evict or could never hold
 *      is declined here, so it is never fetched;
 *   3. bytes held locally go in first: what an earlier, cut transfer received (partials.ts), or,
 *      for a journal, the bytes of the version held that the new version keeps;
 *   4. only the rest is requested from the peer;
 *   5. the session checks size and hash and commits. If local bytes were used and the hash does
 *      not match, they were wrong (a journal rewritten, a damaged partial): once more from 0.
 */
import type { Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import type { Manifest } from '../../formats/manifest.js';
import { BundleStatus } from '../rhizome/status.js';
import type { ImportSession, RhizomeReply, RhizomeService } from '../rhizome/types.js';
import type { Link } from './link.js';
import { PARTIAL_MIN, type PartialKey, type Partials } from './partials.js';
import type { PayloadRequests } from './payload-requests.js';
import type { SyncStore } from './store-view.js';

/** A request that gets no bytes for this long is given up (the partial file stays). */
const STALL_MS = 30_000;

export type TransferOutcome =
  /** Stored (a new bundle, or a new version). */
  | 'imported'
  /** Already held, or a newer version is. */
  | 'have'
  /** The store has no room for it without evicting something more valuable. */
  | 'declined'
  /** It failed verification: the peer sent something false. */
  | 'rejected'
  /** The transfer could not finish (link closed, peer cannot serve it, store busy): try again. */
  | 'failed';

export interface TransferDeps {
  readonly rhizome: RhizomeService;
  readonly store: SyncStore;
  readonly partials: Partials;
}

export interface Offered {
  readonly manifest: Manifest;
  readonly signed: Buffer;
}

export interface TransferSource {
  readonly link: Link;
  readonly requests: PayloadRequests;
}

function classify(reply: RhizomeReply): TransferOutcome {
  const { http, bundle, payload } = reply.outcome;
  if (http === 201 && bundle === BundleStatus.NEW) return 'imported';
  switch (bundle) {
    case BundleStatus.SAME:
    case BundleStatus.DUPLICATE:
    case BundleStatus.OLD:
      return 'have';
    case BundleStatus.INVALID:
    case BundleStatus.FAKE:
    case BundleStatus.INCONSISTENT:
    case BundleStatus.MANIFEST_TOO_BIG:
      return 'rejected';
    case BundleStatus.NO_ROOM:
      return 'declined';
    default:
      return payload === 6 || payload === 7 ? 'declined' : 'failed';
  }
}

/**
 * The partial file of a transfer, written behind the import: writes are queued in order and only
 * waited for when more than PARTIAL_QUEUE bytes are pending, so the copy kept for resuming costs
 * the transfer little time. Its bytes are the payload's from 0, so its length is always the resume
 * point, whatever was written when the node stopped.
 */
class PartialWriter {
  #chain: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #failed = false;

  constructor(private readonly file: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.#failed) return;
    // Not copied: what comes here (DATA frames, store reads) are buffers nobody reuses.
    const copy = chunk;
    this.#pending += copy.length;
    this.#chain = this.#chain.then(async () => {
      try {
        if (!this.#failed) await this.file.write(copy);
      } catch {
        // Only resuming is at stake: stop writing rather than leave a file with a gap.
        this.#failed = true;
      } finally {
        this.#pending -= copy.length;
      }
    });
    if (this.#pending > PARTIAL_QUEUE) await this.#chain;
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.file.close();
  }
}

const PARTIAL_QUEUE = 8 * 1024 * 1024;

/** Streams `source` into the session (and the partial file, if any). */
async function feed(source: Readable, session: ImportSession, partial: PartialWriter | undefined): Promise<number> {
  let n = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    await session.writePayload(chunk);
    if (partial) await partial.write(chunk);
    n += chunk.length;
  }
  return n;
}

/** How many leading bytes of a new journal version the version we hold already has. */
async function journalBytes(store: SyncStore, m: Manifest): Promise<{ stream: () => Promise<Readable | undefined>; length: number } | undefined> {
  if (m.tail === undefined) return undefined;
  const held = await store.get(m.id!);
  if (held?.tail === undefined || held.filehash === undefined || held.version >= m.version!) return undefined;
  const skip = m.tail - held.tail;
  if (skip < 0n || skip >= held.filesize) return undefined;
  const length = Number(held.filesize - skip < m.filesize! ? held.filesize - skip : m.filesize!);
  if (length <= 0) return undefined;
  const hash = held.filehash;
  return { stream: () => store.readPayload(hash, Number(skip), Number(skip) + length), length };
}

/** Receives the requested bytes into the session; resolves with how it ended. */
function fetchRest(src: TransferSource, m: Manifest, offset: number, session: ImportSession, partial: PartialWriter | undefined): Promise<string> {
  const length = Number(m.filesize!) - offset;
  return new Promise((resolve) => {
    let id = 0;
    let progress = Date.now();
    // One timer that looks again when the stall limit could be reached, not one per chunk.
    let stall: NodeJS.Timeout | undefined;
    const check = (): void => {
      const idle = Date.now() - progress;
      if (idle >= STALL_MS) {
        src.requests.cancel(id);
        resolve('stalled');
        return;
      }
      stall = setTimeout(check, STALL_MS - idle);
      stall.unref();
    };
    const done = (how: string): void => {
      clearTimeout(stall);
      resolve(how);
    };
    id = src.requests.request(m.id!, m.version!, offset, length, {
      data: async (chunk) => {
        progress = Date.now();
        try {
          await session.writePayload(chunk);
          if (partial) await partial.write(chunk);
        } catch {
          // Our disk, not the peer: stop this transfer, keep the link.
          src.requests.cancel(id);
          done('could not write what arrived');
        }
      },
      end: () => done('done'),
      fail: (reason) => done(reason),
    });
    check();
  });
}

export async function runTransfer(deps: TransferDeps, offered: Offered, src: TransferSource, useLocal = true): Promise<{ outcome: TransferOutcome; reason?: string }> {
  const m = offered.manifest;
  const opened = await deps.rhizome.beginImport({ id: m.id!, version: m.version! });
  if (!('setManifest' in opened)) return { outcome: 'have' };
  const session = opened;
  const ended = (reply: RhizomeReply): { outcome: TransferOutcome; reason?: string } => ({ outcome: classify(reply), reason: reply.outcome.bundleMessage });
  let partial: PartialWriter | undefined;
  const key: PartialKey | undefined = m.filehash === undefined ? undefined : { bid: m.id!, version: m.version!, filehash: m.filehash };
  try {
    const refused = await session.setManifest(offered.signed);
    if (refused !== undefined) return ended(refused);
    if (!session.expectsPayload) return ended(await session.finish());
    const noRoom = await session.openPayload();
    if (noRoom !== undefined) return ended(noRoom);

    const size = Number(m.filesize!);
    const tee = key !== undefined && size >= PARTIAL_MIN;
    const held = useLocal && tee ? await deps.partials.held(key) : 0;
    const journal = useLocal ? await journalBytes(deps.store, m) : undefined;
    let local = 0;
    if (held > 0 && held <= size && held >= (journal?.length ?? 0)) {
      local = await feed(deps.partials.read(key!, held), session, undefined);
      partial = new PartialWriter(await deps.partials.writer(key!, false));
    } else {
      if (tee) partial = new PartialWriter(await deps.partials.writer(key, true));
      const bytes = journal === undefined ? undefined : await journal.stream();
      if (bytes !== undefined) local = await feed(bytes, session, partial);
    }
    if (local < size) {
      const how = await fetchRest(src, m, local, session, partial);
      if (how !== 'done') {
        await session.abort();
        return { outcome: 'failed', reason: how };
      }
    }
    await partial?.close();
    partial = undefined;
    const result = ended(await session.finish());
    if (result.outcome === 'rejected' && local > 0) {
      // The local bytes were not what this version starts with (a journal rewritten rather than
      // appended to, a damaged partial file): fetch all of it from the peer.
      if (key) await deps.partials.remove(key);
      return runTransfer(deps, offered, src, false);
    }
    if (key && result.outcome !== 'failed') await deps.partials.remove(key);
    return result;
  } catch (err) {
    await session.abort().catch(() => undefined);
    return { outcome: 'failed', reason: err instanceof Error ? err.message : String(err) };
  } finally {
    await partial?.close().catch(() => undefined);
  }
}
