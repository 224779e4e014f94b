/**
 * Moving one bundle each way in a Rhizome Direct sync, as the reference's client does
 * (rhizome_direct_http.c, rhizome_fetch.c):
 *
 * - pull, for a 0x02 record: fetch the manifest by its BID prefix, then the payload by its hash,
 *   and import them through the Rhizome service's import session, which checks everything
 *   (signature, version, size, hash, room) before storing. The session sees the manifest before
 *   any payload byte is fetched, so a bundle already held, older than ours, or with no room in
 *   the store costs no payload transfer. A journal of which we hold an earlier version is fetched
 *   from where our copy ends (Range), our bytes standing in for the start;
 * - push, for a 0x01 record: POST the stored manifest and payload to /rhizome/import.
 */
import type { Readable } from 'node:stream';
import { parseManifest, type Manifest } from '../../formats/manifest.js';
import { BundleStatus, PayloadStatus } from '../rhizome/status.js';
import type { ImportSession, RhizomeReply } from '../rhizome/types.js';
import { PeerError, type DirectPeer } from './peer.js';
import type { BeginImport, DirectStore } from './types.js';

export type Outcome = 'sent' | 'received' | 'skipped' | 'failed';

export interface TransferDeps {
  readonly peer: DirectPeer;
  readonly store: DirectStore;
  readonly beginImport: BeginImport;
}

/** What an import's reply means for the summary: stored, not needed, or refused. */
function classify(reply: RhizomeReply): Outcome {
  const { bundle, payload } = reply.outcome;
  if (payload === PayloadStatus.TOO_BIG || payload === PayloadStatus.EVICTED) return 'skipped';
  switch (bundle) {
    case BundleStatus.NEW:
      return reply.outcome.http === 201 ? 'received' : 'failed';
    case BundleStatus.SAME:
    case BundleStatus.DUPLICATE:
    case BundleStatus.OLD:
    case BundleStatus.NO_ROOM:
      return 'skipped';
    default:
      return 'failed';
  }
}

/** Where a journal's new version starts beyond what we hold of it: our bytes and the offset to fetch from. */
interface HeldStart {
  readonly hash: Buffer;
  /** Our payload's bytes [from, from + length) are the new payload's first `length` bytes. */
  readonly from: number;
  readonly length: number;
}

async function heldStart(store: DirectStore, m: Manifest): Promise<HeldStart | undefined> {
  if (m.tail === undefined) return undefined;
  const prev = await store.get(m.id!);
  if (!prev || prev.tail === undefined || !prev.filehash || prev.filesize === 0n) return undefined;
  // The reference's conditions: an earlier journal whose bytes reach the new one's start.
  if (prev.tail > m.tail || prev.tail + prev.filesize < m.tail) return undefined;
  const from = m.tail - prev.tail;
  const length = Number(prev.filesize - from < m.filesize! ? prev.filesize - from : m.filesize!);
  if (length === 0 || (await store.payloadLength(prev.filehash)) === undefined) return undefined;
  return { hash: prev.filehash, from: Number(from), length };
}

async function feed(session: ImportSession, source: AsyncIterable<Buffer>, limit: number): Promise<number> {
  let received = 0;
  for await (const chunk of source) {
    received += chunk.length;
    // A peer sending more than it promised is lying: no use reading on.
    if (received > limit) throw new PeerError(`payload longer than ${limit} bytes`);
    await session.writePayload(chunk);
  }
  return received;
}

async function fetchPayload(deps: TransferDeps, session: ImportSession, m: Manifest): Promise<void> {
  const size = Number(m.filesize);
  const held = await heldStart(deps.store, m);
  const answer = await deps.peer.file(m.filehash!, held?.length ?? 0, size);
  const partial = held !== undefined && answer.status === 206 && (answer.headers['content-range'] ?? '').startsWith(`bytes ${held.length}-`);
  const start = partial ? held.length : 0;
  const declared = Number(answer.headers['content-length'] ?? NaN);
  if (declared !== size - start) {
    answer.res.destroy();
    throw new PeerError(`payload of ${declared} bytes where ${size - start} were expected`);
  }
  if (partial) {
    const ours = await deps.store.readPayload(held.hash, held.from, held.from + held.length);
    if (!ours) {
      answer.res.destroy();
      throw new PeerError('our copy of the journal went away');
    }
    await feed(session, ours as AsyncIterable<Buffer>, held.length);
  }
  const received = await feed(session, answer.res as AsyncIterable<Buffer>, size - start);
  if (!answer.res.complete || received !== size - start) throw new PeerError('payload cut short');
}

export async function pullOne(deps: TransferDeps, prefix: Buffer): Promise<Outcome> {
  const signed = await deps.peer.manifestByPrefix(prefix);
  if (!signed) return 'failed';
  let m: Manifest;
  try {
    m = parseManifest(signed);
  } catch {
    return 'failed';
  }
  // The peer must answer with the bundle asked about (the import checks the rest).
  if (!m.id?.subarray(0, prefix.length).equals(prefix)) return 'failed';
  const begun = await deps.beginImport();
  if ('outcome' in begun) return classify(begun);
  try {
    const early = await begun.setManifest(signed);
    if (early) return classify(early);
    if (begun.expectsPayload) {
      const refused = await begun.openPayload();
      if (refused) return classify(refused);
      await fetchPayload(deps, begun, m);
    }
    return classify(await begun.finish());
  } finally {
    await begun.abort();
  }
}

export async function pushOne(deps: TransferDeps, prefix: Buffer): Promise<Outcome> {
  const stored = await deps.store.findByBidPrefix(prefix);
  if (!stored) return 'failed';
  const size = Number(stored.filesize);
  const hash = stored.filehash;
  if (size > 0 && (!hash || (await deps.store.payloadLength(hash)) === undefined)) return 'failed';
  const open = async (): Promise<Readable> => {
    const stream = await deps.store.readPayload(hash!);
    if (!stream) throw new PeerError('payload no longer held');
    return stream;
  };
  const { status } = await deps.peer.import(stored.manifest, size, open);
  if (status === 201) return 'sent';
  return status === 200 || status === 202 ? 'skipped' : 'failed';
}
