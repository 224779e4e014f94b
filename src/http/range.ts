/**
 * Range requests on payloads (spec §1.13): the reference's parser, with the two crashes it has
 * when answering fixed. A range that stops before the end of the resource is served as exactly
 * [first, last] with 206, and an unsatisfiable one is reported so the caller can answer 416.
 */
import { fail } from '../errors.js';

/** One element of a `bytes=` range set, with the reference's uint64 values kept exact. */
export type ByteRange =
  | { readonly kind: 'closed'; readonly first: bigint; readonly last: bigint }
  | { readonly kind: 'open'; readonly first: bigint }
  | { readonly kind: 'suffix'; readonly length: bigint };

export type RangeResolution =
  | { readonly kind: 'whole' }
  /** Serve bytes start..end inclusive with 206 and Content-Range. */
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  /** Answer 416, with the Content-Range of unsatisfiableRangeHeader. */
  | { readonly kind: 'unsatisfiable' }
  /** Answer 501 (only the legacy /rhizome/file/ page does; /restful/ serves the whole resource). */
  | { readonly kind: 'multi-not-implemented' };

// The reference stores at most five ranges and ignores a header with more (http_server.h).
const MAX_RANGES = 5;
const UINT64_MAX = 2n ** 64n - 1n;
const RANGE_SPEC = /-([0-9]+)|([0-9]+)-([0-9]*)/y;

/**
 * Parses a Range header value. Returns undefined when the set has more than five ranges (the
 * header is then ignored); throws HTTP_MALFORMED_RANGE (400) for any syntax error, a number beyond
 * 2^64-1, or a range whose last byte precedes its first — wherever it is in the set.
 */
export function parseRange(header: string): ByteRange[] | undefined {
  const text = header.replace(/^[ \t]+|[ \t]+$/g, '');
  if (!text.startsWith('bytes=')) fail('HTTP_MALFORMED_RANGE');
  const ranges: ByteRange[] = [];
  let at = 'bytes='.length;
  for (;;) {
    RANGE_SPEC.lastIndex = at;
    const m = RANGE_SPEC.exec(text);
    if (m === null) fail('HTTP_MALFORMED_RANGE');
    ranges.push(toRange(m[1], m[2], m[3]));
    at = RANGE_SPEC.lastIndex;
    if (at === text.length) break;
    // Spaces may follow a comma, but may not precede one.
    if (text[at] !== ',') fail('HTTP_MALFORMED_RANGE');
    at++;
    while (text[at] === ' ' || text[at] === '\t') at++;
  }
  return ranges.length > MAX_RANGES ? undefined : ranges;
}

function toRange(suffix: string | undefined, first: string | undefined, last: string | undefined): ByteRange {
  if (suffix !== undefined) return { kind: 'suffix', length: toUint64(suffix) };
  const from = toUint64(first ?? '');
  if (last === undefined || last === '') return { kind: 'open', first: from };
  const to = toUint64(last);
  if (to < from) fail('HTTP_MALFORMED_RANGE');
  return { kind: 'closed', first: from, last: to };
}

function toUint64(digits: string): bigint {
  // Leading zeros are allowed; a value that needs more than 64 bits is malformed, as in str_to_uint64.
  const significant = digits.replace(/^0+/, '');
  if (significant.length > 20) fail('HTTP_MALFORMED_RANGE');
  const value = BigInt(digits);
  if (value > UINT64_MAX) fail('HTTP_MALFORMED_RANGE');
  return value;
}

const WHOLE: RangeResolution = Object.freeze({ kind: 'whole' });

/**
 * Decides what to send of a resource of `length` bytes. No ranges, a zero-length resource, or a
 * single range that covers everything → whole. Two to five ranges → whole, or multi-not-implemented
 * when `multi` asks for 501. One range is clamped to the resource (a suffix longer than the resource
 * means all of it); if nothing is left (start ≥ length) → unsatisfiable.
 */
export function resolveRange(
  ranges: readonly ByteRange[] | undefined,
  length: number,
  multi: 'whole' | 'not-implemented',
): RangeResolution {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid resource length ${length}`);
  const range = ranges?.length === 1 ? ranges[0] : undefined;
  if (range === undefined || length === 0) {
    const isMulti = ranges !== undefined && ranges.length > 1 && ranges.length <= MAX_RANGES;
    return isMulti && length > 0 && multi === 'not-implemented' ? { kind: 'multi-not-implemented' } : WHOLE;
  }
  const len = BigInt(length);
  let first: bigint;
  let last = len - 1n;
  switch (range.kind) {
    case 'closed':
      first = range.first < len ? range.first : len;
      last = range.last < len ? range.last : len - 1n;
      break;
    case 'open':
      first = range.first < len ? range.first : len;
      break;
    case 'suffix':
      first = range.length < len ? len - range.length : 0n;
      break;
  }
  if (first > last) return { kind: 'unsatisfiable' };
  if (first === 0n && last === len - 1n) return WHOLE;
  return { kind: 'partial', start: Number(first), end: Number(last) };
}

/** The Content-Range value of a 206: `bytes START-END/TOTAL` (END inclusive). */
export function contentRangeHeader(start: number, end: number, total: number): string {
  return `bytes ${start}-${end}/${total}`;
}

// The Content-Range value of a 416: `bytes */TOTAL` (RFC 9110 §14.4).
export function unsatisfiableRangeHeader(total: number): string {
  return `bytes */${total}`;
}
