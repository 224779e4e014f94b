/**
 * A group of commits as one binary message for the commit writer (a worker thread): one
 * ArrayBuffer, moved rather than copied. Structured clone of the same commits as objects, with a
 * dozen Buffers each, cost more main-thread time than the commit itself saved
 * (docs/benchmarks.md); the writer reads the fields as Buffers over the received bytes.
 *
 * Layout, little-endian: u32 count, then per commit: f64 inserttime, the bundle's fields in the
 * order of NewBundle (optional ones behind a u8 presence flag; byte strings and UTF-8 text behind
 * a u32 length), then u8 payload kind and the payload's fields.
 */
import type { NewBundle } from '../types.js';

/** A commit's payload as the writer needs it: nothing, a hash already held, or finished bytes. */
export type WirePayload =
  | { readonly kind: 'none' }
  | { readonly kind: 'stored'; readonly hash: Buffer }
  | { readonly kind: 'inline'; readonly hash: Buffer; readonly length: number; readonly data: Buffer }
  | { readonly kind: 'file'; readonly hash: Buffer; readonly length: number; readonly path: string };

export interface WireCommit {
  readonly bundle: NewBundle;
  readonly payload: WirePayload;
  /** The store's clock when the group was sent (options.now lives on the main thread). */
  readonly inserttime: number;
}

const KINDS = ['none', 'stored', 'inline', 'file'] as const;

class Writer {
  #buf = Buffer.allocUnsafeSlow(4096);
  #at = 0;

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(bigger, 0, 0, this.#at);
    this.#buf = bigger;
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#at++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.#at = this.#buf.writeUInt32LE(v, this.#at);
  }

  f64(v: number): void {
    this.#room(8);
    this.#at = this.#buf.writeDoubleLE(v, this.#at);
  }

  u64(v: bigint): void {
    this.#room(8);
    this.#at = this.#buf.writeBigUInt64LE(v, this.#at);
  }

  i64(v: bigint): void {
    this.#room(8);
    this.#at = this.#buf.writeBigInt64LE(v, this.#at);
  }

  bytes(v: Uint8Array): void {
    this.u32(v.length);
    this.#room(v.length);
    this.#buf.set(v, this.#at);
    this.#at += v.length;
  }

  text(v: string): void {
    const n = Buffer.byteLength(v, 'utf8');
    this.u32(n);
    this.#room(n);
    this.#at += this.#buf.write(v, this.#at, 'utf8');
  }

  optional<T>(v: T | undefined, put: (v: T) => void): void {
    this.u8(v === undefined ? 0 : 1);
    if (v !== undefined) put(v);
  }

  /** The bytes written; their ArrayBuffer is this writer's own, to be transferred. */
  done(): Uint8Array {
    return new Uint8Array(this.#buf.buffer, 0, this.#at);
  }
}

class Reader {
  readonly #buf: Buffer;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number {
    return this.#buf[this.#at++]!;
  }

  u32(): number {
    const v = this.#buf.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }

  f64(): number {
    const v = this.#buf.readDoubleLE(this.#at);
    this.#at += 8;
    return v;
  }

  u64(): bigint {
    const v = this.#buf.readBigUInt64LE(this.#at);
    this.#at += 8;
    return v;
  }

  i64(): bigint {
    const v = this.#buf.readBigInt64LE(this.#at);
    this.#at += 8;
    return v;
  }

  bytes(): Buffer {
    const n = this.u32();
    const v = this.#buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }

  text(): string {
    const n = this.u32();
    const v = this.#buf.toString('utf8', this.#at, this.#at + n);
    this.#at += n;
    return v;
  }

  optional<T>(get: () => T): T | undefined {
    return this.u8() === 0 ? undefined : get();
  }
}

export function encodeGroup(commits: readonly WireCommit[]): Uint8Array {
  const w = new Writer();
  w.u32(commits.length);
  for (const { bundle: b, payload: p, inserttime } of commits) {
    w.f64(inserttime);
    w.bytes(b.bid);
    w.u64(b.version);
    w.f64(Number(b.filesize));
    w.optional(b.filehash, (v) => w.bytes(v));
    w.optional(b.tail, (v) => w.u64(v));
    w.optional(b.service, (v) => w.text(v));
    w.optional(b.name, (v) => w.text(v));
    w.optional(b.sender, (v) => w.bytes(v));
    w.optional(b.recipient, (v) => w.bytes(v));
    w.optional(b.date, (v) => w.i64(v));
    w.optional(b.author, (v) => w.bytes(v));
    w.bytes(b.manifest);
    w.u8(KINDS.indexOf(p.kind));
    if (p.kind === 'none') continue;
    w.bytes(p.hash);
    if (p.kind === 'stored') continue;
    w.f64(p.length);
    if (p.kind === 'inline') w.bytes(p.data);
    else w.text(p.path);
  }
  return w.done();
}

export function decodeGroup(bytes: Uint8Array): WireCommit[] {
  const r = new Reader(bytes);
  const commits: WireCommit[] = [];
  for (let count = r.u32(); count > 0; count--) {
    const inserttime = r.f64();
    const bundle: NewBundle = {
      bid: r.bytes(),
      version: r.u64(),
      filesize: BigInt(r.f64()),
      filehash: r.optional(() => r.bytes()),
      tail: r.optional(() => r.u64()),
      service: r.optional(() => r.text()),
      name: r.optional(() => r.text()),
      sender: r.optional(() => r.bytes()),
      recipient: r.optional(() => r.bytes()),
      date: r.optional(() => r.i64()),
      author: r.optional(() => r.bytes()),
      manifest: r.bytes(),
    };
    commits.push({ bundle, payload: readPayload(r), inserttime });
  }
  return commits;
}

function readPayload(r: Reader): WirePayload {
  const kind = KINDS[r.u8()];
  if (kind === 'none' || kind === undefined) return { kind: 'none' };
  const hash = r.bytes();
  if (kind === 'stored') return { kind, hash };
  const length = r.f64();
  return kind === 'inline' ? { kind, hash, length, data: r.bytes() } : { kind, hash, length, path: r.text() };
}
