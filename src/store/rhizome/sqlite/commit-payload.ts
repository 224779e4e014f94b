/**
 * What commit() was given as a payload, checked against the bundle before it joins a group
 * commit (so a caller's mistake is refused alone, synchronously) and resolved to what the queue
 * needs: nothing, a hash the store holds, or the writer that holds the finished bytes.
 *
 * A FinishedPayload carries no bytes; the store finds them through the writer that returned it
 * (a WeakMap, so an abandoned writer is simply collected). A finished payload committed a second
 * time, or a look-alike object, is accepted as long as the store holds that hash.
 */
import type { StorePayloadWriter } from './payload-writer.js';
import type { CommitPayload, FinishedPayload, NewBundle } from '../types.js';

export type QueuedPayload =
  | { readonly kind: 'none' }
  | { readonly kind: 'stored'; readonly hash: Buffer }
  | { readonly kind: 'written'; readonly hash: Buffer; readonly length: number; readonly writer: StorePayloadWriter };

export function resolveCommitPayload(
  bundle: NewBundle,
  payload: CommitPayload,
  writers: WeakMap<FinishedPayload, StorePayloadWriter>,
  heldLength: (hash: Buffer) => number | undefined,
): QueuedPayload {
  if ('kind' in payload) {
    if (payload.kind === 'empty') return none(bundle);
    checkMatches(bundle, payload.hash, heldLength(payload.hash));
    return { kind: 'stored', hash: payload.hash };
  }
  const writer = writers.get(payload);
  if (payload.length === 0) {
    writer?.stored(false);
    return none(bundle);
  }
  checkMatches(bundle, payload.hash, payload.length);
  if (writer?.handoff() !== undefined) return { kind: 'written', hash: payload.hash, length: payload.length, writer };
  checkMatches(bundle, payload.hash, heldLength(payload.hash));
  return { kind: 'stored', hash: payload.hash };
}

function none(bundle: NewBundle): QueuedPayload {
  if (bundle.filesize !== 0n) throw new RangeError('Rhizome store: empty payload for a bundle with filesize > 0');
  return { kind: 'none' };
}

function checkMatches(bundle: NewBundle, hash: Buffer, length: number | undefined): void {
  if (length === undefined) throw new Error('Rhizome store: payload not held by the store');
  if (bundle.filehash === undefined || !bundle.filehash.equals(hash) || bundle.filesize !== BigInt(length)) {
    throw new RangeError("Rhizome store: payload does not match the bundle's filehash and filesize");
  }
}
