/**
 * Reading and writing frame bodies field by field. Every read is bounds-checked: a short or
 * malformed body is a FrameError, never an out-of-range read or a silently wrong value.
 */
import { encodeUleb } from '../../../formats/leb128.js';
import { FrameError } from './frames.js';

export class Cursor {
  #at = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.#at;
  }

  u8(): number {
    if (this.remaining < 1) throw new FrameError('body too short');
    return this.buf[this.#at++]!;
  }

  u32(): number {
    if (this.remaining < 4) throw new FrameError('body too short');
    const v = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    return v;
  }

  u64(): bigint {
    if (this.remaining < 8) throw new FrameError('body too short');
    const v = this.buf.readBigUInt64BE(this.#at);
    this.#at += 8;
    return v;
  }

  bytes(n: number): Buffer {
    if (this.remaining < n) throw new FrameError('body too short');
    const out = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  rest(): Buffer {
    const out = this.buf.subarray(this.#at);
    this.#at = this.buf.length;
    return out;
  }

  /** Unsigned LEB128, at most 64 bits, in its shortest form. */
  uleb(): bigint {
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw new FrameError('uleb not in its shortest form');
        if (value >= 1n << 64n) throw new FrameError('uleb above 64 bits');
        return value;
      }
      shift += 7n;
    }
    throw new FrameError('uleb longer than 10 bytes');
  }

  /** A uleb that must fit a safe JavaScript integer. */
  ulebNumber(max = Number.MAX_SAFE_INTEGER): number {
    const v = this.uleb();
    if (v > BigInt(max)) throw new FrameError(`value ${v} above ${max}`);
    return Number(v);
  }

  end(): void {
    if (this.remaining !== 0) throw new FrameError(`${this.remaining} unexpected bytes at end of body`);
  }
}

/** Collects a body from parts. */
export class BodyWriter {
  readonly #parts: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  put(buf: Buffer): this {
    this.#parts.push(buf);
    this.#length += buf.length;
    return this;
  }

  u8(v: number): this {
    return this.put(Buffer.of(v));
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    return this.put(b);
  }

  u64(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(v);
    return this.put(b);
  }

  uleb(v: number | bigint): this {
    return this.put(encodeUleb(v));
  }

  done(): Buffer {
    return Buffer.concat(this.#parts, this.#length);
  }
}
