/**
 * Properties of the HTTP layer's parsers (spec §1): the Basic header, content types, Range, the
 * request target, Origin, JSON strings and multipart bodies. Arbitrary input never throws anything
 * but the catalogue's errors (or returns the API's "not valid" value), and round trips hold.
 * test/http/multipart.test.ts already holds the first multipart properties (encode → parse with
 * random chunking, skipped bodies, garbage after a fixed boundary); these add what it lacks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ErrorCode } from '../../src/errors.js';
import { readCredentials } from '../../src/http/credentials.js';
import { formatContentType, parseContentType, sameContentType, tryParseContentType, type ContentType } from '../../src/http/content-type.js';
import { jsonResult, jsonString } from '../../src/http/json.js';
import { encodeMultipart, parseMultipart, type PartHeaders, type PartSpec } from '../../src/http/multipart.js';
import { formatOrigin, parseOrigin } from '../../src/http/origin.js';
import { contentRangeHeader, parseRange, resolveRange, type ByteRange } from '../../src/http/range.js';
import { formDecode, MAX_QUERY_PARAMETERS, parseTarget } from '../../src/http/target.js';
import { isWellFormed, outcomeOf, outcomeOfAsync } from '../helpers/properties.js';

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const latin1 = (maxLength: number, minLength = 0) => fc.string({ unit: latin1Char, minLength, maxLength });
const wellFormed = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
// Four times fast-check's default: these run in a few seconds, and parsers face the world.
fc.configureGlobal({ numRuns: 400 });

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
// Characters a multipart header value cannot carry (encodeMultipart refuses them).
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const CONTROL = /[\0-\x1f\x7f]/;

void describe('the Basic Authorization header (spec §1.4)', () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

  void it('any user (without a colon) and password → header → the same credentials', () => {
    fc.assert(
      fc.property(wellFormed(30).filter((u) => !u.includes(':')), wellFormed(60), fc.constantFrom('', ' ', '   '), (user, password, pad) => {
        const header = basic(user, password).replace(' ', ` ${pad}`);
        assert.deepEqual(readCredentials({ authorization: header }), { scheme: 'basic', user, password });
      }),
      { numRuns: 2000 },
    );
  });

  void it('any header value: credentials, ignored, or 400 HTTP_MALFORMED_AUTHORIZATION', () => {
    const value = fc.oneof(
      latin1(40),
      fc.tuple(fc.constantFrom('Basic ', 'basic ', 'Bearer ', 'Digest ', 'Basic', 'Basic  '), latin1(30)).map(([s, v]) => s + v),
      fc.tuple(fc.constantFrom('Basic ', 'Bearer '), fc.string({ unit: fc.constantFrom(...'AZaz09+/=:-_.'), maxLength: 20 })).map(([s, v]) => s + v),
    );
    fc.assert(
      fc.property(fc.option(value, { nil: undefined }), fc.option(value, { nil: undefined }), (authorization, token) => {
        const c = outcomeOf(() => readCredentials({ authorization, 'x-tendril-token': token }), ['HTTP_MALFORMED_AUTHORIZATION']);
        if (typeof c === 'object') assert.ok(c.scheme === 'basic' || (c.scheme === 'token' && c.token.length > 0));
      }),
      { numRuns: 8000 },
    );
  });
});

void describe('content types (spec §1.6, §1.8)', () => {
  const token = (max: number) => fc.string({ unit: fc.constantFrom(...'abcXYZ019!#$%&\'*+-.^_`|~'), minLength: 1, maxLength: max });
  // Values a quoted-string can carry: printable ASCII and Latin-1 bytes, quotes and backslashes too.
  const paramValue = (max: number) =>
    fc.string({ unit: fc.oneof(token(1), fc.constantFrom(' ', '"', '\\', '/', ';', '=', ',', '\xe9', '\xff')), minLength: 1, maxLength: max });
  const contentType: fc.Arbitrary<ContentType> = fc
    .record({
      type: token(63),
      subtype: token(63),
      charset: fc.option(paramValue(30), { nil: undefined }),
      boundary: fc.option(paramValue(70), { nil: undefined }),
      format: fc.option(paramValue(30), { nil: undefined }),
    })
    .map((ct) => Object.fromEntries(Object.entries(ct).filter(([, v]) => v !== undefined)) as unknown as ContentType);

  void it('format → parse gives the same content type', () => {
    fc.assert(
      fc.property(contentType, (ct) => {
        const parsed = parseContentType(formatContentType(ct));
        assert.deepEqual(parsed, ct);
        assert.ok(sameContentType(parsed, ct));
      }),
      { numRuns: 4000 },
    );
  });

  const near = fc
    .array(
      fc.oneof(
        latin1(4),
        fc.constantFrom('multipart/form-data', 'text/plain', ';', ' ; ', 'boundary=', 'charset=', 'format=', '"', '\\', '="a b"', '=x', '/', 'x'.repeat(70)),
      ),
      { maxLength: 10 },
    )
    .map((p) => p.join(''));

  void it('any value: parsed or 400 HTTP_MALFORMED_CONTENT_TYPE; what parses formats to text that parses the same', () => {
    fc.assert(
      fc.property(fc.oneof(latin1(40), near), (text) => {
        const ct = outcomeOf(() => parseContentType(text), ['HTTP_MALFORMED_CONTENT_TYPE']);
        assert.equal(typeof ct === 'object', tryParseContentType(text) !== undefined);
        if (typeof ct === 'object') assert.deepEqual(parseContentType(formatContentType(ct)), ct);
      }),
      { numRuns: 12000 },
    );
  });
});

void describe('Range (spec §1.13)', () => {
  const UINT64_MAX = 2n ** 64n - 1n;
  const num = fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: UINT64_MAX }));
  const spec: fc.Arbitrary<ByteRange> = fc.oneof(
    fc.tuple(num, num).map(([a, b]): ByteRange => (a <= b ? { kind: 'closed', first: a, last: b } : { kind: 'closed', first: b, last: a })),
    num.map((first): ByteRange => ({ kind: 'open', first })),
    num.map((length): ByteRange => ({ kind: 'suffix', length })),
  );
  const zeros = fc.constantFrom('', '', '0', '00');
  const text = (r: ByteRange, z: string) =>
    r.kind === 'closed' ? `${z}${r.first}-${z}${r.last}` : r.kind === 'open' ? `${z}${r.first}-` : `-${z}${r.length}`;

  void it('any valid header parses to its ranges; one range resolves within the resource, clamped as the reference does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(spec, zeros, fc.constantFrom('', ' ', '  ')), { minLength: 1, maxLength: 7 }),
        fc.oneof(fc.nat(400), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        fc.constantFrom('', ' '),
        (set, length, pad) => {
          const header = `${pad}bytes=${set.map(([r, z, space], i) => (i === 0 ? '' : `,${space}`) + text(r, z)).join('')}${pad}`;
          const ranges = parseRange(header);
          if (set.length > 5) {
            assert.equal(ranges, undefined);
            return;
          }
          assert.deepEqual(ranges, set.map(([r]) => r));
          const resolved = resolveRange(ranges, length, 'whole');
          if (set.length > 1 || length === 0) {
            assert.equal(resolved.kind, 'whole');
            return;
          }
          const r = set[0]![0];
          const len = BigInt(length);
          const first = r.kind === 'suffix' ? (r.length < len ? len - r.length : 0n) : r.first;
          const last = r.kind === 'closed' && r.last < len ? r.last : len - 1n;
          if (first >= len) {
            assert.equal(resolved.kind, 'unsatisfiable');
          } else if (first === 0n && last === len - 1n) {
            assert.equal(resolved.kind, 'whole');
          } else {
            assert.deepEqual(resolved, { kind: 'partial', start: Number(first), end: Number(last) });
            assert.ok(resolved.start >= 0 && resolved.start <= resolved.end && resolved.end < length);
            assert.equal(contentRangeHeader(resolved.start, resolved.end, length), `bytes ${first}-${last}/${length}`);
          }
        },
      ),
      { numRuns: 8000 },
    );
  });

  void it('any header value: ranges, ignored, or 400 HTTP_MALFORMED_RANGE; resolution stays within bounds', () => {
    const near = fc
      .array(fc.oneof(latin1(3), fc.constantFrom('bytes=', '-', ',', ', ', '0', '9', '18446744073709551615', '18446744073709551616', ' ', '\t')), { maxLength: 12 })
      .map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(latin1(30), near), fc.nat(1000), (header, length) => {
        const ranges = outcomeOf(() => parseRange(header), ['HTTP_MALFORMED_RANGE']);
        if (typeof ranges === 'string') return;
        const r = resolveRange(ranges, length, 'not-implemented');
        if (r.kind === 'partial') assert.ok(r.start >= 0 && r.start <= r.end && r.end < length);
      }),
      { numRuns: 12000 },
    );
  });
});

void describe('the request target (spec §1.3, §1.5)', () => {
  void it('any target: parsed, or 400 / 414 from the catalogue', () => {
    const near = fc
      .array(fc.oneof(latin1(3), fc.constantFrom('/', '?', '&', '=', '%', '%2', '%zz', '%41', '+', '%00', '%FF', 'x'.repeat(800))), { maxLength: 20 })
      .map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(near, near.map((t) => `/${t}`)), fc.nat(8000), (target, credentials) => {
        const allowed: ErrorCode[] = ['HTTP_BAD_REQUEST', 'HTTP_TOO_MANY_PARAMETERS', 'HTTP_URI_TOO_LONG'];
        const t = outcomeOf(() => parseTarget(target, credentials), allowed);
        if (typeof t === 'object') assert.ok(t.query.length <= MAX_QUERY_PARAMETERS && t.reserved <= 8192 - 1024);
      }),
      { numRuns: 12000 },
    );
  });

  void it('encoded path and parameters decode to what was encoded', () => {
    const text = wellFormed(12);
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(text, text, fc.boolean()), { maxLength: MAX_QUERY_PARAMETERS }), (segments, params) => {
        const encode = (s: string, plus: boolean) => (plus ? encodeURIComponent(s).replace(/%20/g, '+') : encodeURIComponent(s));
        const path = segments.map((s) => encode(s, false)).join('/');
        const query = params.map(([n, v, plus]) => `${encode(n, plus)}=${encode(v, plus)}`).join('&');
        const t = parseTarget(`/${path}${params.length ? `?${query}` : ''}`);
        assert.equal(t.path, `/${segments.join('/')}`);
        assert.deepEqual(t.query, params.map(([name, value]) => ({ name, value })));
      }),
      { numRuns: 4000 },
    );
  });

  void it('form decoding never throws and leaves text without + or % alone', () => {
    fc.assert(
      fc.property(latin1(30), (text) => {
        const decoded = formDecode(text);
        if (!/[+%]/.test(text)) assert.equal(decoded, text);
      }),
    );
  });
});

void describe('Origin (spec §1.10)', () => {
  void it('any value: an origin, none, or 400 HTTP_MALFORMED_ORIGIN; what parses is echoed as text that parses the same', () => {
    const near = fc
      .array(fc.oneof(latin1(3), fc.constantFrom('http', 'https', 'file', '://', 'localhost', '127.0.0.1', ':', '8080', '99999', '0', '00', '/', '[::1]', 'null', '#', '?')), { maxLength: 8 })
      .map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(latin1(30), near), (header) => {
        const origin = outcomeOf(() => parseOrigin(header), ['HTTP_MALFORMED_ORIGIN']);
        // The echoed origin leaves out a port of 0 (spec §1.10), so that one comes back absent.
        if (typeof origin === 'object') assert.deepEqual(parseOrigin(formatOrigin(origin)), origin.kind === 'url' && origin.port === 0 ? { ...origin, port: undefined } : origin);
      }),
      { numRuns: 12000 },
    );
  });
});

void describe('JSON (spec §1.11, §1.12)', () => {
  void it('any string renders as ASCII JSON that parses back to the string, up to a NUL', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), latin1(30), fc.string({ maxLength: 30 })), (s) => {
        const rendered = jsonString(s);
        assert.match(rendered, /^[\x20-\x7e]*$/);
        const nul = s.indexOf('\0');
        assert.equal(JSON.parse(rendered), nul === -1 ? s : s.slice(0, nul));
      }),
      { numRuns: 4000 },
    );
  });

  void it('a JSON result with any reason and members is valid JSON with those members', () => {
    fc.assert(
      fc.property(fc.nat(999), wellFormed(20), fc.array(fc.tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), fc.oneof(fc.integer(), wellFormed(8), fc.boolean(), fc.constant(null))), { maxLength: 4 }), (status, reason, members) => {
        fc.pre(new Set(['http_status_code', 'http_status_message', ...members.map(([k]) => k)]).size === members.length + 2);
        fc.pre(!reason.includes('\0') && members.every(([k, v]) => !k.includes('\0') && !(typeof v === 'string' && v.includes('\0'))));
        const parsed = JSON.parse(jsonResult(status, reason, members)) as Record<string, unknown>;
        assert.deepEqual(parsed, { http_status_code: status, http_status_message: reason, ...Object.fromEntries(members) });
      }),
      { numRuns: 2000 },
    );
  });
});

/** `data` handed over in pieces whose sizes cycle through `sizes` (whole if `sizes` is empty). */
async function* chunks(data: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  if (sizes.length === 0) {
    yield data;
    return;
  }
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    // Each piece arrives on its own turn of the event loop, as from a socket.
    yield await Promise.resolve(data.subarray(at, at + size));
    at += size;
  }
}

interface Parsed {
  readonly headers: PartHeaders;
  readonly body: Buffer;
}

async function parseAll(data: Buffer, boundary: string, sizes: readonly number[] = [], maxHeaderBytes?: number): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for await (const part of parseMultipart(chunks(data, sizes), boundary, maxHeaderBytes === undefined ? {} : { maxHeaderBytes })) {
    const body: Buffer[] = [];
    for await (const c of part.body) body.push(c);
    out.push({ headers: part.headers, body: Buffer.concat(body) });
  }
  return out;
}

/** The parts, or the catalogue code the parser threw (any other throw fails the property). */
function outcome(data: Buffer, boundary: string, sizes: readonly number[] = [], maxHeaderBytes?: number): Promise<Parsed[] | ErrorCode> {
  return outcomeOfAsync(() => parseAll(data, boundary, sizes, maxHeaderBytes), [
    'HTTP_MISSING_BOUNDARY',
    'FORM_MISSING_FIRST_BOUNDARY',
    'FORM_MISSING_END_BOUNDARY',
    'FORM_MALFORMED_PART_HEADER',
    'FORM_DUPLICATE_PART_HEADER',
    'FORM_PART_HEADER_TOO_LARGE',
  ]);
}

const chunking = fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 6 });

void describe('multipart: what test/http/multipart.test.ts does not cover (spec §1.7)', () => {
  const boundary = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 70 });
  // The boundary inside content without the CRLF that would make it a delimiter, or with a CRLF
  // but followed by something other than CRLF or "--" CRLF.
  const lookalikes = (b: string) => [`--${b}`, b, `--${b}--`, `\n--${b}\r\n`, `\r--${b}\r\n`, `x--${b}\r\n`, `\r\n--${b} \r\n`, `\r\n--${b}-\r\n`, `\r\n--${b}--x`, `\r\n-${b}\r\n`, '\r', '\r\n'];
  const body = (b: string) => fc.array(fc.oneof(bytes(8), fc.constantFrom(...lookalikes(b))), { maxLength: 8 }).map((ps) => Buffer.concat(ps.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));

  void it('a boundary inside a part body, not preceded by CRLF, is data: any printable boundary round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(
        boundary.chain((b) => fc.tuple(fc.constant(b), fc.array(body(b), { minLength: 1, maxLength: 3 }))),
        chunking,
        async ([b, bodies], sizes) => {
          const parts: PartSpec[] = bodies.map((data, i) => ({ name: `p${i}`, body: data }));
          let encoded: Buffer;
          try {
            encoded = encodeMultipart(parts, b);
          } catch (err) {
            fc.pre(!(err instanceof RangeError)); // a lookalike plus its neighbour made a real delimiter
            throw err;
          }
          const parsed = await parseAll(encoded, b, sizes);
          assert.deepEqual(parsed.map((p) => p.body), bodies);
        },
      ),
      { numRuns: 2000 },
    );
  });

  void it('a nested multipart is one opaque part, and parses again on its own', async () => {
    // Inner boundaries related to the outer one: longer, shorter, or the outer one plus "--".
    const pair = boundary.chain((outer) =>
      fc.tuple(fc.constant(outer), fc.oneof(boundary, boundary.map((s) => (outer + s).slice(0, 70)), fc.constant(`${outer}--`.slice(0, 70)), fc.constant(outer.slice(0, -1) || 'x'))),
    );
    await fc.assert(
      fc.asyncProperty(pair, fc.array(fc.tuple(wellFormed(6), bytes(20)), { maxLength: 3 }), chunking, async ([outer, inner], innerParts, sizes) => {
        fc.pre(outer !== inner);
        const innerSpecs: PartSpec[] = innerParts.map(([name, data]) => ({ name: `n${[...name].filter((c) => !CONTROL.test(c)).join('')}`, body: data }));
        let encoded: Buffer;
        let innerBody: Buffer;
        try {
          innerBody = encodeMultipart(innerSpecs, inner);
          encoded = encodeMultipart([{ name: 'nested', contentType: { type: 'multipart', subtype: 'mixed', boundary: inner }, body: innerBody }, { name: 'after', body: 'x' }], outer);
        } catch (err) {
          fc.pre(!(err instanceof RangeError));
          throw err;
        }
        const parsed = await parseAll(encoded, outer, sizes);
        assert.deepEqual(parsed.map((p) => p.headers.contentDisposition?.name), ['nested', 'after']);
        assert.deepEqual(parsed[0]!.body, innerBody);
        assert.equal(parsed[0]!.headers.contentType?.boundary, inner);
        const again = await parseAll(parsed[0]!.body, inner, sizes);
        assert.deepEqual(again.map((p) => [p.headers.contentDisposition?.name, p.body]), innerSpecs.map((s) => [s.name, s.body]));
      }),
      { numRuns: 1200 },
    );
  });

  // Header lines: anything (without CR or LF), or recognised headers with random parameters.
  const param = fc.tuple(fc.constantFrom('name', 'filename', 'size', 'creation-date', 'read-date', 'x', 'charset', 'boundary', 'format'), fc.oneof(latin1(8).filter((v) => !/[\r\n]/.test(v)), fc.constantFrom('"a"', '""', '12', '"Wed, 12 Feb 1997 16:29:51 -0500"', '"Mon, 31 Feb 99999 99:99:99 +9999"', '"x\\"y"', '18446744073709551616')));
  const headerLine = fc.oneof(
    latin1(20).filter((l) => !/[\r\n]/.test(l)),
    fc
      .tuple(fc.constantFrom('Content-Disposition: form-data', 'content-disposition:attachment', 'Content-Type: text/plain', 'CONTENT-TYPE: a/b', 'Content-Length: '), fc.array(param, { maxLength: 3 }), fc.constantFrom('', ' ', '5', 'x'))
      .map(([h, ps, tail]) => `${h}${ps.map(([n, v]) => `; ${n}=${v}`).join('')}${tail}`),
  );

  void it('any part header lines: parts, or a FORM_ error, the same however the body is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(headerLine, { maxLength: 4 }), { minLength: 1, maxLength: 3 }), chunking, async (partsHeaders, sizes) => {
        const text = partsHeaders.map((lines) => `--B\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\nbody`).join('\r\n') + '\r\n--B--\r\n';
        const data = Buffer.from(text, 'latin1');
        const whole = await outcome(data, 'B');
        assert.deepEqual(await outcome(data, 'B', sizes), whole);
        if (typeof whole === 'string') return;
        for (const p of whole) {
          const cd = p.headers.contentDisposition;
          if (cd?.name !== undefined) assert.ok(Buffer.byteLength(cd.name, 'latin1') <= 63 * 3);
          if (cd?.creationDate !== undefined) assert.ok(Number.isFinite(cd.creationDate) || Number.isNaN(cd.creationDate));
        }
      }),
      { numRuns: 6000 },
    );
  });

  void it('a huge part header: an unknown one is skipped, a recognised one is 400, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 16, max: 200 }), fc.integer({ min: 0, max: 600 }), fc.boolean(), chunking, async (limit, size, recognised, sizes) => {
        const line = recognised ? `Content-Disposition: form-data; name="a"; filename="${'f'.repeat(size)}"` : `X-Junk: ${'j'.repeat(size)}`;
        const data = Buffer.from(`--B\r\nContent-Type: a/b\r\n${line}\r\n\r\nbody\r\n--B--\r\n`, 'latin1');
        const result = await outcome(data, 'B', sizes, limit);
        assert.deepEqual(await outcome(data, 'B', [], limit), result);
        const held = 'Content-Type: a/b\r\n'.length;
        if (recognised && held + line.length + 2 > limit) assert.equal(result, 'FORM_PART_HEADER_TOO_LARGE');
        // An unknown header of any length is skipped once its name shows within what is left of
        // the limit; a line that leaves not even that is refused (the limit is 16 KiB in use,
        // far beyond what the recognised headers can hold).
        if (!recognised && held + 'X-Junk:'.length <= limit) {
          assert.ok(typeof result === 'object', `refused: ${typeof result === 'string' ? result : ''}`);
          assert.deepEqual(result[0]!.body, Buffer.from('body'));
        }
      }),
      { numRuns: 2000 },
    );
  });

  void it('any boundary, any bytes: parts or a FORM_ error (HTTP_MISSING_BOUNDARY for an empty boundary)', async () => {
    await fc.assert(
      fc.asyncProperty(latin1(72), fc.array(fc.oneof(bytes(20), fc.constantFrom('\r\n', '--', '\r\n--', 'Content-Type: x\r\n', '\r\n\r\n')), { maxLength: 10 }), chunking, async (b, pieces, sizes) => {
        const data = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
        const framed = Buffer.concat([Buffer.from(`--${b}\r\n`, 'latin1'), data, Buffer.from(`\r\n--${b}--\r\n`, 'latin1')]);
        for (const d of [data, framed]) {
          const r = await outcome(d, b, sizes);
          if (b === '') assert.equal(r, 'HTTP_MISSING_BOUNDARY');
        }
      }),
      { numRuns: 4000 },
    );
  });

  void it('part names survive as UTF-8', async () => {
    await fc.assert(
      fc.asyncProperty(wellFormed(10).filter((n) => n !== '' && !CONTROL.test(n) && Buffer.byteLength(n) <= 63), async (name) => {
        const [p] = await parseAll(encodeMultipart([{ name, body: '' }], 'B'), 'B');
        assert.equal(p!.headers.contentDisposition?.name, name);
        assert.ok(isWellFormed(name));
      }),
    );
  });
});
