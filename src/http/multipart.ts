/**
 * A streaming multipart/form-data parser that follows the reference daemon's rules (spec §1.7),
 * and the builder that tests and the CLI use to make such bodies.
 *
 * Memory stays bounded whatever the body size: the parser holds at most one input chunk plus the
 * few bytes that might begin a delimiter (while reading part headers, at most `maxHeaderBytes` of
 * them plus one chunk), never copies a part body, and pulls from the source only when the consumer
 * asks for more, so a slow consumer slows the upload rather than filling memory.
 */
import { Readable } from 'node:stream';
import { fail } from '../errors.js';
import { formatContentType, parseParams, quoteString, scanToken, skipSpace, tryParseContentType } from './content-type.js';
import type { ContentType } from './content-type.js';

export interface ContentDisposition {
  /** As sent; handlers require exactly `form-data` (§1.7). */
  readonly type: string;
  /** Decoded as UTF-8; handlers match it case-sensitively. At most 63 bytes on the wire. */
  readonly name?: string;
  /** Decoded as UTF-8. At most 127 bytes on the wire. */
  readonly filename?: string;
  readonly size?: bigint;
  /** Milliseconds since the epoch. */
  readonly creationDate?: number;
  readonly modificationDate?: number;
  readonly readDate?: number;
}

export interface PartHeaders {
  /** Advisory only (§1.7): never used to frame the body. */
  readonly contentLength?: bigint;
  readonly contentType?: ContentType;
  readonly contentDisposition?: ContentDisposition;
}

export interface FormPart {
  readonly headers: PartHeaders;
  /** The part's bytes, without the CRLF that precedes the next delimiter. Readable once. */
  readonly body: AsyncIterable<Buffer>;
}

/** The parts of one body, in order; also reports the most input bytes it ever held at once. */
export type FormParts = AsyncGenerator<FormPart, void, undefined> & { readonly peakBufferedBytes: number };

export interface MultipartOptions {
  /** Most bytes of recognised part header lines kept for one part (default 16 KiB). */
  readonly maxHeaderBytes?: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type State = 'preamble' | 'headers' | 'body' | 'epilogue';
/** A delimiter found at `at`; the next part's headers (or the epilogue) begin at `next`. */
type Found = { readonly kind: 'open' | 'close'; readonly at: number; readonly next: number };
type Scan = Found | { readonly kind: 'more'; readonly safe: number };

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const CRLF = Buffer.from('\r\n');
const NOTHING = Buffer.alloc(0);
const RECOGNISED = new Set(['content-length', 'content-type', 'content-disposition']);
// Field sizes of the reference's struct mime_content_disposition (http_server.h).
const MAX_DISPOSITION_TYPE = 63;
const MAX_NAME = 63;
const MAX_FILENAME = 127;
const MAX_DATE = 39;

/**
 * Parses `source` as multipart/form-data with `boundary`. Consume it with `for await`; read (or
 * ignore) each part's body before asking for the next part, which skips whatever was left unread.
 * Errors (all TendrilErrors, status 400): FORM_MISSING_FIRST_BOUNDARY, FORM_MISSING_END_BOUNDARY,
 * FORM_MALFORMED_PART_HEADER, FORM_DUPLICATE_PART_HEADER, FORM_PART_HEADER_TOO_LARGE.
 */
export function parseMultipart(source: AsyncIterable<Uint8Array>, boundary: string, options: MultipartOptions = {}): FormParts {
  if (boundary.length === 0) fail('HTTP_MISSING_BOUNDARY');
  const reader = new PartReader(source, boundary, options.maxHeaderBytes ?? 16 * 1024);
  return Object.defineProperty(reader.parts(), 'peakBufferedBytes', { get: () => reader.peak }) as FormParts;
}

class PartReader {
  peak = 0;
  readonly #source: AsyncIterator<Uint8Array>;
  /** CRLF "--" boundary: how every delimiter begins; the CRLF belongs to the delimiter (§1.7). */
  readonly #delimiter: Buffer;
  readonly #openLine: string;
  readonly #closeLine: string;
  /** The lines that end a part's headers: empty, a delimiter, a closing delimiter. */
  readonly #lineEnds: readonly Buffer[];
  readonly #maxHeaderBytes: number;
  // Starts with a virtual CRLF, so that a delimiter at the very start of the body is found exactly
  // like one after any CRLF in the preamble.
  #buf: Buffer = CRLF;
  #state: State = 'preamble';
  /** Number of the part whose body may be read; 0 once parsing has stopped. */
  #part = 0;
  #exhausted = false;
  #pulling = false;

  constructor(source: AsyncIterable<Uint8Array>, boundary: string, maxHeaderBytes: number) {
    // A Node stream's default iterator destroys the stream when abandoned, which would close the
    // socket before an early answer (a 4xx on a bad part, spec §3.8.1) could be written.
    this.#source =
      source instanceof Readable
        ? (source.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>)
        : source[Symbol.asyncIterator]();
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.#openLine = `--${boundary}`;
    this.#closeLine = `--${boundary}--`;
    this.#lineEnds = ['', this.#openLine, this.#closeLine].map((line) => Buffer.from(`${line}\r\n`, 'latin1'));
    this.#maxHeaderBytes = maxHeaderBytes;
  }

  async *parts(): AsyncGenerator<FormPart, void, undefined> {
    try {
      await this.#skipPreamble();
      while (this.#state === 'headers') {
        const headers = await this.#readHeaders();
        const part = ++this.#part;
        yield { headers, body: { [Symbol.asyncIterator]: () => this.#body(part) } };
        for await (const _ of this.#body(part)) {
          // skip what the consumer left unread, so that the next part's headers come next
        }
      }
      // The epilogue is ignored (§1.7) but read to its end, so that the whole request has arrived
      // when iteration ends and an answer cannot race the upload.
      this.#buf = NOTHING;
      while (await this.#pull()) this.#buf = NOTHING;
    } finally {
      this.#part = 0;
      // Not awaited: a source still busy with a read nobody will use must not hold up the outcome
      // (an async generator queues return() behind its pending next()), and the outcome of parsing
      // is what the caller needs, not a failure to let go of the source.
      if (!this.#exhausted) void this.#source.return?.()?.catch(() => undefined);
    }
  }

  async #skipPreamble(): Promise<void> {
    for (;;) {
      const found = findDelimiter(this.#buf, this.#delimiter);
      if (found.kind !== 'more') {
        this.#pass(found);
        return;
      }
      this.#buf = this.#buf.subarray(found.safe);
      if (!(await this.#pull())) fail('FORM_MISSING_FIRST_BOUNDARY');
    }
  }

  /**
   * Reads header lines up to the empty line (or a delimiter). Recognised lines are kept, at most
   * `maxHeaderBytes` of them; a longer line is refused, unless it is an unrecognised header whose
   * name shows within that limit, which the reference skips (§1.7) and so is dropped as it streams.
   * Both decisions depend only on the bytes, never on how they were chunked.
   */
  async #readHeaders(): Promise<PartHeaders> {
    const headers: Mutable<PartHeaders> = {};
    let held = 0;
    let skipping = false;
    for (;;) {
      const eol = this.#buf.indexOf(CRLF);
      if (eol < 0) {
        if (!skipping && held + this.#buf.length > this.#maxHeaderBytes && !this.#mayEndHeaders(this.#buf)) {
          skipping = this.#skippable(this.#buf, held) || fail('FORM_PART_HEADER_TOO_LARGE');
        }
        // A final CR may be the first half of the CRLF that ends the skipped line.
        if (skipping) this.#buf = this.#buf.subarray(this.#buf.at(-1) === CR ? -1 : this.#buf.length);
        if (!(await this.#pull())) fail('FORM_MISSING_END_BOUNDARY');
        continue;
      }
      const line = this.#buf.subarray(0, eol);
      const text = line.toString('latin1');
      this.#buf = this.#buf.subarray(eol + 2);
      if (skipping) {
        skipping = false;
      } else if (text === '') {
        this.#state = 'body';
        return headers;
      } else if (text === this.#openLine || text === this.#closeLine) {
        // A delimiter among the headers ends the part, with an empty body (§1.7).
        this.#state = text === this.#openLine ? 'headers' : 'epilogue';
        return headers;
      } else if (held + eol + 2 > this.#maxHeaderBytes) {
        if (!this.#skippable(line, held)) fail('FORM_PART_HEADER_TOO_LARGE');
      } else if (applyHeader(headers, text)) {
        held += eol + 2;
      }
    }
  }

  /** True if an unfinished line could still be the empty line or a delimiter line. */
  #mayEndHeaders(partial: Buffer): boolean {
    return this.#lineEnds.some((end) => partial.length <= end.length && end.compare(partial, 0, partial.length, 0, partial.length) === 0);
  }

  #skippable(line: Buffer, held: number): boolean {
    return isUnrecognisedHeader(line.subarray(0, this.#maxHeaderBytes - held));
  }

  async *#body(part: number): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      if (part !== this.#part) throw new Error('multipart: a part body was read after moving on to the next part');
      if (this.#state !== 'body') return;
      const found = findDelimiter(this.#buf, this.#delimiter);
      const data = this.#buf.subarray(0, found.kind === 'more' ? found.safe : found.at);
      if (found.kind === 'more') this.#buf = this.#buf.subarray(found.safe);
      else this.#pass(found);
      if (data.length > 0) yield data;
      else if (found.kind === 'more' && !(await this.#pull())) fail('FORM_MISSING_END_BOUNDARY');
    }
  }

  #pass(delimiter: Found): void {
    this.#buf = this.#buf.subarray(delimiter.next);
    this.#state = delimiter.kind === 'open' ? 'headers' : 'epilogue';
  }

  /** Appends the next non-empty chunk of the source to the buffer; false at its end. */
  async #pull(): Promise<boolean> {
    if (this.#exhausted) return false;
    // Two readers at once would take bytes from the middle of each other's data.
    if (this.#pulling) throw new Error('multipart: concurrent reads of one body');
    this.#pulling = true;
    try {
      for (;;) {
        const next = await this.#source.next();
        if (next.done === true) {
          this.#exhausted = true;
          return false;
        }
        const { buffer, byteOffset, byteLength } = next.value;
        if (byteLength === 0) continue;
        const chunk = Buffer.from(buffer, byteOffset, byteLength);
        this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
        this.peak = Math.max(this.peak, this.#buf.length);
        return true;
      }
    } finally {
      this.#pulling = false;
    }
  }
}

/**
 * Finds the first delimiter in `buf`: CRLF "--" boundary, then CRLF (a part follows) or "--" CRLF
 * (the end; without its CRLF it is not a delimiter, and no transport padding is allowed). When
 * there is none yet, `safe` is where a delimiter could still begin: bytes before it are data.
 */
function findDelimiter(buf: Buffer, delimiter: Buffer): Scan {
  for (let from = 0; ; ) {
    const at = buf.indexOf(delimiter, from);
    if (at < 0) return { kind: 'more', safe: partialStart(buf, delimiter) };
    const after = at + delimiter.length;
    if (buf.length < after + 2) return { kind: 'more', safe: at };
    if (buf[after] === CR && buf[after + 1] === LF) return { kind: 'open', at, next: after + 2 };
    if (buf[after] === DASH && buf[after + 1] === DASH) {
      if (buf.length < after + 4) return { kind: 'more', safe: at };
      if (buf[after + 2] === CR && buf[after + 3] === LF) return { kind: 'close', at, next: after + 4 };
    }
    from = at + 1;
  }
}

/** Where the longest tail of `buf` that is a beginning of `delimiter` starts (buf.length if none). */
function partialStart(buf: Buffer, delimiter: Buffer): number {
  for (let k = Math.max(0, buf.length - delimiter.length + 1); k < buf.length; k++) {
    if (buf[k] === CR && buf.compare(delimiter, 0, buf.length - k, k) === 0) return k;
  }
  return buf.length;
}

function isUnrecognisedHeader(line: Buffer): boolean {
  const text = line.toString('latin1');
  const end = scanToken(text, 0);
  return end > 0 && text[end] === ':' && !RECOGNISED.has(text.slice(0, end).toLowerCase());
}

/** Applies one `token ":" OWS value` line; true if it is a recognised header (kept in memory). */
function applyHeader(headers: Mutable<PartHeaders>, line: string): boolean {
  const nameEnd = scanToken(line, 0);
  if (nameEnd === 0 || line[nameEnd] !== ':') fail('FORM_MALFORMED_PART_HEADER');
  const name = line.slice(0, nameEnd).toLowerCase();
  if (!RECOGNISED.has(name)) return false;
  const value = line.slice(skipSpace(line, nameEnd + 1));
  // As in the reference, a repeat is refused before its value is looked at.
  if (name === 'content-length') {
    if (headers.contentLength !== undefined) fail('FORM_DUPLICATE_PART_HEADER');
    const digits = /^([0-9]+)[ \t]*$/.exec(value)?.[1];
    headers.contentLength = (digits === undefined ? undefined : parseUint64(digits)) ?? fail('FORM_MALFORMED_PART_HEADER');
  } else if (name === 'content-type') {
    if (headers.contentType !== undefined) fail('FORM_DUPLICATE_PART_HEADER');
    headers.contentType = tryParseContentType(value) ?? fail('FORM_MALFORMED_PART_HEADER');
  } else {
    if (headers.contentDisposition !== undefined) fail('FORM_DUPLICATE_PART_HEADER');
    headers.contentDisposition = parseContentDisposition(value) ?? fail('FORM_MALFORMED_PART_HEADER');
  }
  return true;
}

/** `type *( ";" param )` with the parameters of §1.7; undefined if malformed. */
function parseContentDisposition(value: string): ContentDisposition | undefined {
  const typeEnd = scanToken(value, 0);
  if (typeEnd === 0 || typeEnd > MAX_DISPOSITION_TYPE) return undefined;
  const params = parseParams(value, typeEnd);
  if (params === undefined) return undefined;
  const cd: Mutable<ContentDisposition> = { type: value.slice(0, typeEnd) };
  for (const { name, value: v, quoted } of params) {
    switch (name) {
      case 'name':
        if (v.length > MAX_NAME) return undefined;
        cd.name = Buffer.from(v, 'latin1').toString('utf8');
        break;
      case 'filename':
        if (v.length > MAX_FILENAME) return undefined;
        cd.filename = Buffer.from(v, 'latin1').toString('utf8');
        break;
      case 'size': {
        const size = quoted ? undefined : parseUint64(v);
        if (size === undefined) return undefined;
        cd.size = size;
        break;
      }
      case 'creation-date':
      case 'modification-date':
      case 'read-date': {
        const date = quoted && v.length <= MAX_DATE ? parseDate(v) : undefined;
        if (date === undefined) return undefined;
        if (name === 'creation-date') cd.creationDate = date;
        else if (name === 'modification-date') cd.modificationDate = date;
        else cd.readDate = date;
        break;
      }
    }
  }
  return cd;
}

function parseUint64(digits: string): bigint | undefined {
  if (!/^[0-9]+$/.test(digits) || digits.replace(/^0+/, '').length > 20) return undefined;
  const value = BigInt(digits);
  return value < 2n ** 64n ? value : undefined;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
// What the reference reads: strptime(3) "%a, %d %b %Y %T " and then a numeric zone, nothing else.
const RFC822_DATE = /^([A-Za-z]+), *([0-9]{1,2}) *([A-Za-z]+) *([0-9]{1,4}) *([0-9]{1,2}):([0-9]{2}):([0-9]{2}) *([+-])([0-9]{2})([0-9]{2})$/;

function parseDate(text: string): number | undefined {
  const m = RFC822_DATE.exec(text);
  if (m === null) return undefined;
  const [, day = '', date = '', monthName = '', year = '', hour = '', minute = '', second = '', sign = '', zh = '', zm = ''] = m;
  const lower = monthName.toLowerCase();
  const month = Math.max(MONTHS.indexOf(lower), MONTH_NAMES.indexOf(lower));
  const [d, h, min, s] = [Number(date), Number(hour), Number(minute), Number(second)];
  if (!DAYS.includes(day.toLowerCase()) || month < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  const when = new Date(0);
  when.setUTCFullYear(Number(year), month, d); // not Date.UTC, which maps years 0-99 to 1900-1999
  when.setUTCHours(h, min, s, 0);
  const offset = (Number(zh) * 60 + Number(zm)) * 60_000;
  return when.getTime() - (sign === '-' ? -offset : offset);
}

/** One part for encodeMultipart. A string body is encoded as UTF-8. */
export interface PartSpec {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: ContentType | string;
  readonly body: Uint8Array | string;
}

/**
 * Builds a multipart/form-data body: per part `--boundary`, Content-Disposition `form-data;
 * name="…"` (and `filename="…"`), Content-Type if given, an empty line, the body; then
 * `--boundary--` CRLF. Throws a RangeError for a boundary or header value that cannot be framed,
 * or a body that the parser would cut short because it contains a delimiter.
 */
export function encodeMultipart(parts: readonly PartSpec[], boundary: string): Buffer {
  if (!/^[\x20-\x7e]{1,70}$/.test(boundary)) throw new RangeError('a multipart boundary is 1 to 70 printable ASCII characters');
  const open = Buffer.from(`--${boundary}\r\n`, 'latin1');
  const pieces: Buffer[] = [];
  for (const part of parts) {
    let head = `Content-Disposition: form-data; name=${quoteString(headerText(part.name))}`;
    if (part.filename !== undefined) head += `; filename=${quoteString(headerText(part.filename))}`;
    if (part.contentType !== undefined) {
      const type = typeof part.contentType === 'string' ? part.contentType : formatContentType(part.contentType);
      head += `\r\nContent-Type: ${headerText(type)}`;
    }
    const body = typeof part.body === 'string' ? Buffer.from(part.body, 'utf8') : Buffer.from(part.body);
    const framed = Buffer.concat([body, CRLF]);
    if (framed.includes(`\r\n--${boundary}\r\n`, 0, 'latin1') || framed.includes(`\r\n--${boundary}--\r\n`, 0, 'latin1')) {
      throw new RangeError(`part "${part.name}" contains the multipart delimiter`);
    }
    pieces.push(open, Buffer.from(`${head}\r\n\r\n`, 'utf8'), framed);
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return Buffer.concat(pieces);
}

function headerText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f\x7f]/.test(text)) throw new RangeError('multipart header values cannot contain control characters');
  // The parser, as the reference's, takes `name=""` for a malformed parameter (§1.7).
  if (text === '') throw new RangeError('multipart header values cannot be empty');
  return text;
}
