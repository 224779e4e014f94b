/**
 * Frame bodies of Tendril sync v1 (docs/sync.md §4): encoding, and decoding that checks every
 * field, so a malformed body from a broken or hostile peer is a FrameError and nothing else.
 */
import { BID_BYTES, isCanonical, type Prefix } from '../reconcile/prefix.js';
import { FINGERPRINT_BYTES } from '../reconcile/fingerprint.js';
import { ID_PREFIX_BYTES, MAX_RECON_DEPTH, type IdEntry, type RangeEntry } from '../reconcile/reconciler.js';
import { BodyWriter, Cursor } from './cursor.js';
import { FrameError } from './frames.js';

/** RECON flags. */
export const RECON_FINAL = 0x01;
const MODE_FINGERPRINT = 0;
const MODE_IDS = 1;

/** Most entries one frame's item list or WANT may hold (bounded by the frame size anyway). */
export const MAX_LIST = 65_536;

function writePrefix(w: BodyWriter, p: Prefix): void {
  w.u8(p.depth).put(p.key.subarray(0, (p.depth + 1) >> 1));
}

function readPrefix(c: Cursor): Prefix {
  const depth = c.u8();
  if (depth > MAX_RECON_DEPTH) throw new FrameError(`range depth ${depth} above ${MAX_RECON_DEPTH}`);
  const key = Buffer.alloc(BID_BYTES);
  c.bytes((depth + 1) >> 1).copy(key);
  const p = { depth, key };
  if (!isCanonical(p)) throw new FrameError('range prefix has digits past its depth');
  return p;
}

function writeIds(w: BodyWriter, ids: readonly IdEntry[]): void {
  w.uleb(ids.length);
  for (const id of ids) w.put(id.bid16).uleb(id.version);
}

/** Item lists are sorted by id and hold each id once, so merging them is one pass. */
function readIds(c: Cursor, within?: Prefix): IdEntry[] {
  const n = c.ulebNumber(MAX_LIST);
  const ids: IdEntry[] = [];
  let last: Buffer | undefined;
  for (let i = 0; i < n; i++) {
    const bid16 = c.bytes(ID_PREFIX_BYTES);
    const version = c.uleb();
    if (last !== undefined && last.compare(bid16) >= 0) throw new FrameError('item list not sorted');
    if (within !== undefined && !startsWith(bid16, within)) throw new FrameError('item outside its range');
    last = bid16;
    ids.push({ bid16, version });
  }
  return ids;
}

function startsWith(bid16: Buffer, p: Prefix): boolean {
  const whole = p.depth >> 1;
  if (bid16.compare(p.key, 0, whole, 0, whole) !== 0) return false;
  return (p.depth & 1) === 0 || (bid16[whole]! & 0xf0) === p.key[whole];
}

/** One range's bytes inside a RECON body. */
export function encodeRange(entry: RangeEntry): Buffer {
  const w = new BodyWriter();
  writePrefix(w, entry.prefix);
  if (entry.kind === 'fingerprint') w.u8(MODE_FINGERPRINT).put(entry.fingerprint);
  else writeIds(w.u8(MODE_IDS), entry.ids);
  return w.done();
}

export function encodeRecon(flags: number, ranges: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.of(flags), ...ranges]);
}

export function decodeRecon(body: Buffer): { flags: number; ranges: RangeEntry[] } {
  const c = new Cursor(body);
  const flags = c.u8();
  const ranges: RangeEntry[] = [];
  while (c.remaining > 0) {
    const prefix = readPrefix(c);
    const mode = c.u8();
    if (mode === MODE_FINGERPRINT) ranges.push({ kind: 'fingerprint', prefix, fingerprint: c.bytes(FINGERPRINT_BYTES) });
    else if (mode === MODE_IDS) ranges.push({ kind: 'ids', prefix, ids: readIds(c, prefix) });
    else throw new FrameError(`unknown range mode ${mode}`);
  }
  return { flags, ranges };
}

export function encodeWant(ids: readonly IdEntry[]): Buffer {
  const w = new BodyWriter();
  writeIds(w, ids);
  return w.done();
}

export function decodeWant(body: Buffer): IdEntry[] {
  const c = new Cursor(body);
  const n = c.ulebNumber(MAX_LIST);
  const ids: IdEntry[] = [];
  for (let i = 0; i < n; i++) ids.push({ bid16: c.bytes(ID_PREFIX_BYTES), version: c.uleb() });
  c.end();
  return ids;
}

export function encodeNotHave(ids: readonly Buffer[]): Buffer {
  const w = new BodyWriter().uleb(ids.length);
  for (const id of ids) w.put(id.subarray(0, ID_PREFIX_BYTES));
  return w.done();
}

export function decodeNotHave(body: Buffer): Buffer[] {
  const c = new Cursor(body);
  const n = c.ulebNumber(MAX_LIST);
  const ids: Buffer[] = [];
  for (let i = 0; i < n; i++) ids.push(c.bytes(ID_PREFIX_BYTES));
  c.end();
  return ids;
}

export function encodeOffer(manifest: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0), manifest]);
}

export function decodeOffer(body: Buffer): Buffer {
  const c = new Cursor(body);
  c.u8(); // flags: none defined in v1, ignored for forward compatibility
  const manifest = c.rest();
  if (manifest.length === 0) throw new FrameError('empty manifest');
  return manifest;
}

export interface PayloadRequest {
  readonly id: number;
  readonly bid: Buffer;
  readonly version: bigint;
  readonly offset: number;
  readonly length: number;
}

export function encodeRequest(r: PayloadRequest): Buffer {
  return new BodyWriter().u32(r.id).put(r.bid).u64(r.version).uleb(r.offset).uleb(r.length).done();
}

export function decodeRequest(body: Buffer): PayloadRequest {
  const c = new Cursor(body);
  const r = { id: c.u32(), bid: c.bytes(BID_BYTES), version: c.u64(), offset: c.ulebNumber(), length: c.ulebNumber() };
  c.end();
  if (r.length === 0) throw new FrameError('empty payload request');
  return r;
}

export const Unavailable = { NOT_HELD: 1, BUSY: 2, BAD_RANGE: 3 } as const;

export function encodeId(id: number, extra?: number): Buffer {
  const w = new BodyWriter().u32(id);
  if (extra !== undefined) w.u8(extra);
  return w.done();
}

export function decodeId(body: Buffer): { id: number; extra: number | undefined } {
  const c = new Cursor(body);
  const id = c.u32();
  const extra = c.remaining > 0 ? c.u8() : undefined;
  return { id, extra };
}

/** HELLO and ROUTES: a JSON object, so that later versions can add members. */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function decodeJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new FrameError('body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FrameError('body is not a JSON object');
  return value as Record<string, unknown>;
}
