/**
 * What the store's main thread and its commit writer (commit-writer.ts, a worker thread) send
 * each other. A group of commits goes as one binary message (commit-codec.ts); the answers are
 * small objects. Structured clone turns a Buffer into a plain Uint8Array on the way, so the
 * receiving side wraps the bytes of a returned row again (asBuffer).
 */
import type { MessagePort } from 'node:worker_threads';
import type { ManifestRow } from './bundle-row.js';
import type { StoreLayout } from './layout.js';

/** What the writer is started with. */
export interface WriterData {
  readonly layout: StoreLayout;
  readonly busyTimeoutMs: number | undefined;
  /** One Int32 the main thread waits on (Atomics): a WriterState. */
  readonly state: SharedArrayBuffer;
  /** The channel on which the writer also hashes large payloads (hash-thread.ts). */
  readonly hashes: MessagePort;
}

/** Where the writer is, for the main thread's synchronous open() and close(). */
export const WriterState = { BOOTING: 0, OPEN: 1, CLOSED: 2 } as const;

/** An error without its prototype: message, name and the `code` the store translates. */
export interface WireError {
  readonly message: string;
  readonly name: string;
  readonly code?: string;
}

export type WireResult =
  | { readonly ok: true; readonly kind: 'new'; readonly rowid: number; readonly payloadAdded: boolean }
  | { readonly ok: true; readonly kind: 'old' | 'same'; readonly row: ManifestRow }
  | { readonly ok: false; readonly error: WireError };

export type ToWriter =
  /** A group encoded by encodeGroup(); its ArrayBuffer is transferred. */
  | { readonly type: 'commit'; readonly group: Uint8Array }
  | { readonly type: 'close' };

export type FromWriter =
  | {
      readonly type: 'done';
      /** One per item, in order. */
      readonly results: readonly WireResult[];
      /** Per item: its temporary file became the payload file. */
      readonly renamed: readonly boolean[];
      /** Payload rows the group deleted (their files are already unlinked). */
      readonly deleted: number;
    }
  /** The whole group failed (busy, disk full): nothing was stored, renamed files are back. */
  | { readonly type: 'failed'; readonly error: WireError }
  | { readonly type: 'closed' };

export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err), name: 'Error' };
  const code = (err as NodeJS.ErrnoException).code;
  return { message: err.message, name: err.name, ...(typeof code === 'string' ? { code } : {}) };
}

/** An Error (RangeError where it was one) carrying the original code. */
export function fromWireError(wire: WireError): Error {
  const err: NodeJS.ErrnoException = wire.name === 'RangeError' ? new RangeError(wire.message) : new Error(wire.message);
  if (wire.code !== undefined) err.code = wire.code;
  return err;
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Null stays null: for the optional BLOB columns of a row. */
export function asBufferOrNull(bytes: Uint8Array | null): Buffer | null {
  return bytes === null ? null : asBuffer(bytes);
}
