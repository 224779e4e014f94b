/**
 * The Rhizome manifest text (spec §7.3): parsing, typed field access, serialisation, validity, and
 * the overlay that insert and append use to edit a stored manifest (§3.8.1 step 2).
 *
 * A manifest is an ordered list of `label=value` fields. Order matters because the signature covers
 * the serialised text and servald preserves it: a field that is set again keeps its place, a new one
 * goes to the end, a deleted one loses its place (§7.3.2; vector 10 shows `version`, `filesize`
 * and `filehash` moving to the end of an updated manifest).
 *
 * Values are bytes: the grammar only excludes NUL, CR and LF, and nothing promises UTF-8. They are
 * held internally as latin1 strings (one char per byte) so that they compare and slice cheaply.
 * Known fields are stored the way servald stores them after parsing: canonical label, canonical
 * value (uppercase hex, plain decimal, `broadcast` as all-FF), so re-serialising a parsed manifest
 * yields what servald would write. Signatures are always checked against the original bytes.
 */
import { fail } from '../errors.js';
import { parseHex, toHex } from './hex.js';

/** Text, NUL and every signature block together (`MAX_MANIFEST_BYTES`). */
export const MAX_MANIFEST_BYTES = 8192;
export const MAX_MANIFEST_FIELDS = 256;
export const MAX_LABEL_LENGTH = 80;
/** One self-signature block: 0x17 ‖ signature (64) ‖ public key (32) (§7.4). */
export const SIGNATURE_BLOCK_BYTES = 97;

/** The known fields, in the fixed order in which an overlay copies them (§3.8.1 step 2.2). */
export const KNOWN_LABELS = [
  'id',
  'version',
  'filehash',
  'filesize',
  'tail',
  'BK',
  'service',
  'date',
  'sender',
  'recipient',
  'name',
  'crypt',
] as const;
export type KnownLabel = (typeof KNOWN_LABELS)[number];

/** An unparsable core value invalidates the whole manifest; any other known field is just dropped. */
const CORE_LABELS: ReadonlySet<string> = new Set<KnownLabel>(['id', 'version', 'filehash', 'filesize', 'tail']);

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const BROADCAST_SID = 'F'.repeat(64);

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const EQUALS = 0x3d;

const LABEL_RE = /^[A-Za-z][A-Za-z0-9]*$/;
const DECIMAL_RE = /^[0-9]+$/;
const SIGNED_DECIMAL_RE = /^[+-]?[0-9]+$/;
const SERVICE_RE = /^[A-Za-z0-9_.]+$/;
const BAD_VALUE_RE = /[\0\r\n]/;

/** Turns a value (latin1) into its canonical form, or undefined if it does not parse. */
type Canonicaliser = (value: string) => string | undefined;

const hexOf =
  (bytes: number): Canonicaliser =>
  (value) => {
    const binary = parseHex(value, bytes);
    return binary && toHex(binary);
  };

/** Decimal uint64 with an excluded value: version forbids 0, sizes forbid 2⁶⁴−1 ("unset"). */
const uint64Except =
  (excluded: bigint): Canonicaliser =>
  (value) => {
    if (!DECIMAL_RE.test(value)) return undefined;
    const n = BigInt(value);
    return n > UINT64_MAX || n === excluded ? undefined : n.toString();
  };

// strtoll(): optional sign, no spaces, int64 range. Written back signed (servald would print a
// negative date as its uint64 two's complement, which then no longer parses; we don't copy that).
const date: Canonicaliser = (value) => {
  if (!SIGNED_DECIMAL_RE.test(value)) return undefined;
  const n = BigInt(value);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n.toString();
};

// parse_sid_t() accepts the literal `broadcast` (case-sensitive) for the all-FF SID.
const sid: Canonicaliser = (value) => (value === 'broadcast' ? BROADCAST_SID : hexOf(32)(value));

const CANONICAL: Readonly<Record<KnownLabel, Canonicaliser>> = {
  id: hexOf(32),
  version: uint64Except(0n),
  filehash: hexOf(64),
  filesize: uint64Except(UINT64_MAX),
  tail: uint64Except(UINT64_MAX),
  BK: hexOf(32),
  service: (value) => (SERVICE_RE.test(value) ? value : undefined),
  date,
  sender: sid,
  recipient: sid,
  name: (value) => value,
  crypt: (value) => (value === '0' || value === '1' ? value : undefined),
};

const KNOWN_BY_LOWER: ReadonlyMap<string, KnownLabel> = new Map(KNOWN_LABELS.map((l) => [l.toLowerCase(), l]));

/** ASCII-only lower case, as strcasecmp() compares (String#toLowerCase maps e.g. U+212A to 'k'). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** The canonical spelling of a known label (matched case-insensitively), else undefined. */
export function knownLabel(label: string): KnownLabel | undefined {
  return KNOWN_BY_LOWER.get(asciiLower(label));
}

/** LABEL = ALPHA *79(ALPHA / DIGIT), ASCII only (§7.3.1). */
export function isManifestLabel(label: string): boolean {
  return label.length >= 1 && label.length <= MAX_LABEL_LENGTH && LABEL_RE.test(label);
}

/** VALUE = any octets but NUL, CR and LF, fewer than 8192 of them (§7.3.1). */
export function isManifestValue(value: Uint8Array): boolean {
  return value.length < MAX_MANIFEST_BYTES && !BAD_VALUE_RE.test(latin1(value));
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function invalid(why: string): never {
  return fail('RHIZOME_MANIFEST_INVALID', { cause: why });
}

interface Field {
  readonly label: string;
  value: string;
}

interface ManifestSource {
  readonly fields: Field[];
  readonly malformed: string | undefined;
  readonly body: Buffer;
  readonly signatureBlocks: readonly Buffer[];
}

/**
 * An ordered, editable manifest. Typed accessors read and write the known fields; assigning
 * `undefined` deletes the field. Setters throw RHIZOME_MANIFEST_INVALID for values the grammar or
 * the field syntax rejects, so a Manifest never holds what servald could not parse.
 */
export class Manifest {
  readonly #fields: Field[];
  /**
   * Set by parsing when a known non-core field did not parse and was dropped: `Invalid field`
   * (§7.3.1). Insert/append/import answer `Malformed manifest: Invalid field`.
   */
  readonly malformed: string | undefined;
  /** The text as parsed, without its NUL (not updated by edits; see serializeManifestText). */
  readonly body: Buffer;
  /** The signature blocks as parsed, split by the 4*TYPE+5 rule (§7.4). Empty if none or partial. */
  readonly signatureBlocks: readonly Buffer[];

  /** An empty manifest. (The argument is for this module's parser and clone only.) */
  constructor(source?: ManifestSource) {
    this.#fields = source?.fields ?? [];
    this.malformed = source?.malformed;
    this.body = source?.body ?? Buffer.alloc(0);
    this.signatureBlocks = source?.signatureBlocks ?? [];
  }

  /** A deep copy (fields, malformed marker and parse record). */
  clone(): Manifest {
    return new Manifest({
      fields: this.#fields.map((f) => ({ ...f })),
      malformed: this.malformed,
      body: this.body,
      signatureBlocks: this.signatureBlocks,
    });
  }

  /** Number of fields. */
  get size(): number {
    return this.#fields.length;
  }

  /** The fields in order, labels canonical for known fields, values as bytes. */
  entries(): Array<[label: string, value: Buffer]> {
    return this.#fields.map((f) => [f.label, Buffer.from(f.value, 'latin1')]);
  }

  /** Field labels in order. */
  labels(): string[] {
    return this.#fields.map((f) => f.label);
  }

  /** True if the field is present (known labels in any case, unknown labels exactly). */
  has(label: string): boolean {
    return this.#find(label) !== undefined;
  }

  /** The value bytes of a field, or undefined. */
  get(label: string): Buffer | undefined {
    const field = this.#find(label);
    return field && Buffer.from(field.value, 'latin1');
  }

  /** The value of a field decoded as UTF-8 (lossy for other bytes), or undefined. */
  getText(label: string): string | undefined {
    return this.get(label)?.toString('utf8');
  }

  /**
   * Sets a field: in place if present, else appended. A string value is taken as UTF-8. Known
   * labels are canonicalised (label spelling and value); a bad label or value throws.
   */
  set(label: string, value: string | Uint8Array): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (!isManifestLabel(label)) invalid(`bad field label ${JSON.stringify(label)}`);
    if (!isManifestValue(bytes)) invalid(`bad value for field ${label}`);
    const known = knownLabel(label);
    const canonical = known ? CANONICAL[known](latin1(bytes)) : latin1(bytes);
    if (canonical === undefined) invalid(`unparsable value for field ${label}`);
    this.#put(known ?? label, canonical);
    return this;
  }

  /** Removes a field; later fields move up. Returns whether it was present. */
  delete(label: string): boolean {
    const field = this.#find(label);
    if (!field) return false;
    this.#fields.splice(this.#fields.indexOf(field), 1);
    return true;
  }

  get id(): Buffer | undefined {
    return this.#hex('id', 32);
  }
  set id(bid: Uint8Array | undefined) {
    this.#putBytes('id', bid, 32);
  }

  /** Never 0 when present (§7.3.1). */
  get version(): bigint | undefined {
    return this.#bigint('version');
  }
  set version(v: bigint | undefined) {
    this.#putNumber('version', v);
  }

  get filesize(): bigint | undefined {
    return this.#bigint('filesize');
  }
  set filesize(v: bigint | undefined) {
    this.#putNumber('filesize', v);
  }

  get filehash(): Buffer | undefined {
    return this.#hex('filehash', 64);
  }
  set filehash(hash: Uint8Array | undefined) {
    this.#putBytes('filehash', hash, 64);
  }

  /** Present ⇒ the bundle is a journal (§7.9). */
  get tail(): bigint | undefined {
    return this.#bigint('tail');
  }
  set tail(v: bigint | undefined) {
    this.#putNumber('tail', v);
  }

  get isJournal(): boolean {
    return this.has('tail');
  }

  /** The `BK` field (§7.6). */
  get bk(): Buffer | undefined {
    return this.#hex('BK', 32);
  }
  set bk(bk: Uint8Array | undefined) {
    this.#putBytes('BK', bk, 32);
  }

  get service(): string | undefined {
    return this.#find('service')?.value;
  }
  set service(service: string | undefined) {
    this.#putText('service', service);
  }

  /** Milliseconds since the epoch, signed 64-bit (§7.3.4). */
  get date(): bigint | undefined {
    return this.#bigint('date');
  }
  set date(v: bigint | undefined) {
    this.#putNumber('date', v);
  }

  get sender(): Buffer | undefined {
    return this.#hex('sender', 32);
  }
  set sender(sid: Uint8Array | undefined) {
    this.#putBytes('sender', sid, 32);
  }

  get recipient(): Buffer | undefined {
    return this.#hex('recipient', 32);
  }
  set recipient(sid: Uint8Array | undefined) {
    this.#putBytes('recipient', sid, 32);
  }

  /** Decoded as UTF-8; get('name') gives the exact bytes. */
  get name(): string | undefined {
    return this.getText('name');
  }
  set name(name: string | undefined) {
    this.#putText('name', name);
  }

  get crypt(): boolean | undefined {
    const value = this.#find('crypt')?.value;
    return value === undefined ? undefined : value === '1';
  }
  set crypt(on: boolean | undefined) {
    this.#putText('crypt', on === undefined ? undefined : on ? '1' : '0');
  }

  #find(label: string): Field | undefined {
    const wanted = knownLabel(label) ?? label;
    return this.#fields.find((f) => f.label === wanted);
  }

  #put(label: string, value: string): void {
    const field = this.#fields.find((f) => f.label === label);
    if (field) {
      field.value = value;
      return;
    }
    if (this.#fields.length >= MAX_MANIFEST_FIELDS) invalid('too many fields');
    this.#fields.push({ label, value });
  }

  #putText(label: KnownLabel, value: string | undefined): void {
    if (value === undefined) this.delete(label);
    else this.set(label, value);
  }

  #putNumber(label: KnownLabel, value: bigint | undefined): void {
    this.#putText(label, value?.toString());
  }

  #putBytes(label: KnownLabel, value: Uint8Array | undefined, length: number): void {
    if (value !== undefined && value.length !== length) invalid(`${label} must be ${length} bytes`);
    this.#putText(label, value && toHex(value));
  }

  #hex(label: KnownLabel, length: number): Buffer | undefined {
    const value = this.#find(label)?.value;
    return value === undefined ? undefined : parseHex(value, length);
  }

  #bigint(label: KnownLabel): bigint | undefined {
    const value = this.#find(label)?.value;
    return value === undefined ? undefined : BigInt(value);
  }
}

export interface ParseManifestOptions {
  /**
   * A partial manifest from an insert/append `manifest` part (§3.8.1): whatever follows a NUL is
   * ignored rather than split into signature blocks.
   */
  readonly partial?: boolean;
}

/**
 * Parses manifest bytes as servald's rhizome_manifest_parse() does (§7.3.1). Throws
 * RHIZOME_MANIFEST_INVALID for a syntax error, a duplicate field, more than 256 fields, more than
 * 8192 bytes or an unparsable core field. An unparsable non-core field is dropped and marks the
 * result `malformed = 'Invalid field'`.
 */
export function parseManifest(bytes: Uint8Array, opts: ParseManifestOptions = {}): Manifest {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length > MAX_MANIFEST_BYTES) invalid(`manifest of ${buf.length} bytes`);
  const fields: Field[] = [];
  const seen = new Set<string>();
  let malformed: string | undefined;
  let p = 0;
  while (p < buf.length && buf[p] !== NUL) {
    const start = p;
    while (p < buf.length && buf[p] !== NUL && buf[p] !== EQUALS && buf[p] !== LF) p++;
    if (buf[p] !== EQUALS) invalid(`line without '=' at byte ${start}`);
    const label = buf.toString('latin1', start, p);
    const valueStart = ++p;
    while (p < buf.length && buf[p] !== NUL && buf[p] !== LF) p++;
    if (buf[p] !== LF) invalid(`line not ended by LF at byte ${start}`);
    // One CR right before the LF is part of the line ending, not of the value.
    const valueEnd = p > valueStart && buf[p - 1] === CR ? p - 1 : p;
    const value = buf.toString('latin1', valueStart, valueEnd);
    p++;

    if (!isManifestLabel(label)) invalid(`bad field label at byte ${start}`);
    if (value.includes('\r') || value.length >= MAX_MANIFEST_BYTES) invalid(`bad value for field ${label}`);
    const known = knownLabel(label);
    const canonicalLabel = known ?? label;
    if (seen.has(canonicalLabel)) invalid(`duplicate field ${label}`);
    if (fields.length === MAX_MANIFEST_FIELDS) invalid('too many fields');
    const canonical = known ? CANONICAL[known](value) : value;
    if (canonical === undefined) {
      if (CORE_LABELS.has(canonicalLabel)) invalid(`unparsable core field ${label}`);
      // servald drops the field, so a later field with the same label is not a duplicate.
      malformed = 'Invalid field';
      continue;
    }
    seen.add(canonicalLabel);
    fields.push({ label: canonicalLabel, value: canonical });
  }
  // Copies, so that the caller may reuse its buffer.
  const body = Buffer.from(buf.subarray(0, p));
  const signatures = p < buf.length && !opts.partial ? Buffer.from(buf.subarray(p + 1)) : Buffer.alloc(0);
  return new Manifest({ fields, malformed, body, signatureBlocks: splitSignatureBlocks(signatures) });
}

/**
 * Cuts the bytes after the NUL into blocks of 4*TYPE+5 bytes each (§7.4). A block that would
 * overrun the data ends the list.
 */
export function splitSignatureBlocks(bytes: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = 4 * (bytes[offset] ?? 0) + 5;
    if (offset + length > bytes.length) break;
    blocks.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return blocks;
}

/** The manifest text servald writes: `label=value` LF per field, in order, no CR, no NUL (§7.3.2). */
export function serializeManifestText(m: Manifest): Buffer {
  let text = '';
  for (const [label, value] of m.entries()) text += `${label}=${value.toString('latin1')}\n`;
  return Buffer.from(text, 'latin1');
}

/**
 * The 422 reason (bundle status 10) when `text` cannot be signed within 8192 bytes, with
 * servald's exact wording (§3.8.3 step 7), else undefined.
 */
export function manifestTooBig(text: Uint8Array): string | undefined {
  const body = text.length + 1; // the NUL belongs to the body
  const limit = `exceeds limit of ${MAX_MANIFEST_BYTES}`;
  if (body > MAX_MANIFEST_BYTES) return `Manifest too big: body of ${body} bytes ${limit}`;
  if (body + SIGNATURE_BLOCK_BYTES > MAX_MANIFEST_BYTES)
    return `Manifest too big: body of ${body} + signature of ${SIGNATURE_BLOCK_BYTES} bytes ${limit}`;
  return undefined;
}

export interface ManifestProblems {
  /** A missing/contradictory core field: the manifest cannot be stored or transferred. */
  readonly invalid?: string;
  /** A non-core problem: local add/import reject it, the store and sync carry it. */
  readonly malformed?: string;
}

/** Both verdicts of rhizome_manifest_validate_reason() (§7.3.3), each the first that applies. */
export function manifestProblems(m: Manifest): ManifestProblems {
  return { invalid: invalidReason(m), malformed: malformedReason(m) ?? m.malformed };
}

/**
 * The reason insert/append reject a manifest with at the end of the body (§3.8.3 step 5): the
 * first hard failure, else the first malformation, else undefined when valid.
 */
export function validateManifest(m: Manifest): string | undefined {
  const { invalid, malformed } = manifestProblems(m);
  return invalid ?? malformed;
}

function invalidReason(m: Manifest): string | undefined {
  if (!m.has('id')) return "Missing 'id' field";
  if (!m.has('version')) return "Missing 'version' field";
  const filesize = m.filesize;
  if (filesize === undefined) return "Missing 'filesize' field";
  if (filesize === 0n && m.has('filehash')) return "Spurious 'filehash' field";
  if (filesize !== 0n && !m.has('filehash')) return "Missing 'filehash' field";
  return undefined;
}

// Service names are compared case-sensitively here (strcmp), unlike §3.8.2's name-from-filename.
function malformedReason(m: Manifest): string | undefined {
  const service = m.service;
  if (service === undefined) return "Missing 'service' field";
  if (service === 'file') return m.has('name') ? undefined : "Manifest with service='file' missing 'name' field";
  if (service === 'MeshMS1' || service === 'MeshMS2') {
    if (!m.has('recipient')) return "Manifest missing 'recipient' field";
    return m.has('sender') ? undefined : "Manifest missing 'sender' field";
  }
  if (!SERVICE_RE.test(service)) return "Manifest invalid 'service' field";
  return m.has('date') ? undefined : "Missing 'date' field";
}

/**
 * Overlays a partial manifest on a stored one (§3.8.1 step 2.2, rhizome_manifest_overwrite): copy
 * the stored manifest; unless appending, delete its version, filesize and filehash; then set the
 * partial's known fields in KNOWN_LABELS order, then its unknown fields in their own order. Fields
 * already present keep their position, others are appended. Neither input is changed.
 */
export function overlayManifest(stored: Manifest, partial: Manifest, opts: { readonly appending: boolean }): Manifest {
  const m = stored.clone();
  if (!opts.appending) {
    m.delete('version');
    m.delete('filesize');
    m.delete('filehash');
  }
  for (const label of KNOWN_LABELS) {
    const value = partial.get(label);
    if (value !== undefined) m.set(label, value);
  }
  for (const [label, value] of partial.entries()) if (!knownLabel(label)) m.set(label, value);
  return m;
}

/**
 * Step 2 of insert/append (§3.8.1, §3.9, rhizome_manifest_add_file): the manifest to fill in, or
 * the reason for a 422 (bundle status 4). `stored` is the manifest named by `bundle-id` if the
 * store has it (a `bundle-id` the store lacks is ignored). A new journal gets filesize=0, tail=0.
 */
export function buildManifestForAdd(
  partial: Manifest,
  stored: Manifest | undefined,
  opts: { readonly appending: boolean },
): { readonly manifest: Manifest } | { readonly reason: string } {
  if (opts.appending) {
    for (const label of ['version', 'filesize', 'filehash'] as const)
      if (partial.has(label)) return { reason: `Cannot set '${label}' field in journal append` };
  }
  let manifest: Manifest;
  if (stored) {
    manifest = overlayManifest(stored, partial, opts);
  } else {
    manifest = partial.clone();
    if (opts.appending) {
      if (!manifest.has('filesize')) manifest.filesize = 0n;
      if (!manifest.has('tail')) manifest.tail = 0n;
    }
  }
  if (opts.appending && !manifest.isJournal) return { reason: 'Cannot append to a non-journal' };
  if (!opts.appending && manifest.isJournal) return { reason: 'Cannot add a journal bundle (use append instead)' };
  return { manifest };
}
