import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTendrilError } from '../../src/errors.js';
import {
  CONTENT_TYPE_RHIZOME_MANIFEST,
  CONTENT_TYPE_SID_HEX,
  CONTENT_TYPE_TEXT_UTF8,
  formatContentType,
  parseContentType,
} from '../../src/http/content-type.js';
import { encodeMultipart, parseMultipart } from '../../src/http/multipart.js';
import type { FormPart, MultipartOptions, PartHeaders, PartSpec } from '../../src/http/multipart.js';

interface Parsed {
  readonly headers: PartHeaders;
  readonly body: Buffer;
}

/**
 * A request-like async source over a sync iterable: each chunk is handed over only when asked for,
 * and return() reaches the iterable, as it would a stream.
 */
function toAsync<T>(items: Iterable<T>): AsyncIterableIterator<T> {
  const it = items[Symbol.iterator]();
  return {
    next: () => Promise.resolve(it.next()),
    return: (value?: unknown) => Promise.resolve(it.return?.(value) ?? { done: true, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** `data` in pieces whose sizes cycle through `sizes` (one piece if `sizes` is empty). */
function* pieces(data: Buffer, sizes: readonly number[] = []): Generator<Buffer> {
  if (sizes.length === 0) {
    yield data;
    return;
  }
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    yield data.subarray(at, at + size);
    at += size;
  }
}

const chunked = (data: Buffer, sizes?: readonly number[]) => toAsync(pieces(data, sizes));

/** The text of the next chunk of a body, or undefined at its end. */
async function nextText(body: AsyncIterator<Buffer>): Promise<string | undefined> {
  const next = await body.next();
  return next.done === true ? undefined : next.value.toString();
}

/** Parses everything; a part whose `read` entry is false is left for the parser to skip. */
async function collect(
  source: AsyncIterable<Uint8Array>,
  boundary = 'XyZ',
  options: MultipartOptions = {},
  read: readonly boolean[] = [],
): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for await (const part of parseMultipart(source, boundary, options)) {
    const bytes: Buffer[] = [];
    if (read[out.length % Math.max(1, read.length)] ?? true) for await (const chunk of part.body) bytes.push(chunk);
    out.push({ headers: part.headers, body: Buffer.concat(bytes) });
  }
  return out;
}

const parse = (body: string | Buffer, sizes?: readonly number[], options?: MultipartOptions) =>
  collect(chunked(Buffer.from(body as string, 'latin1'), sizes), 'XyZ', options);

/** Asserts that parsing fails with the TendrilError `code`, whether the body comes whole or byte by byte. */
async function assertFails(body: string, code: string, options?: MultipartOptions): Promise<void> {
  for (const sizes of [[], [1]]) {
    await assert.rejects(
      parse(body, sizes, options),
      (err: unknown) => isTendrilError(err) && err.code === code && err.status === 400,
      `${JSON.stringify(body.slice(0, 200))} in chunks of ${sizes.join() || 'all'}`,
    );
  }
}

const cd = (name: string, extra = '') => `Content-Disposition: form-data; name="${name}"${extra}\r\n`;
const text = (parts: Parsed[]) => parts.map((p) => [p.headers.contentDisposition?.name, p.body.toString('latin1')]);

const SID = 'F092ECF2A8A4D8D2ABD97C64C4E4FA8EC4C5A7A8B1A0D29D2E2E2B67D6A2A36E';
// Spec Appendix B.2, byte for byte.
const B2 =
  '--XyZ\r\n' +
  'Content-Disposition: form-data; name="bundle-author"\r\n' +
  'Content-Type: serval/sid; format=hex\r\n' +
  '\r\n' +
  `${SID}\r\n` +
  '--XyZ\r\n' +
  'Content-Disposition: form-data; name="manifest"\r\n' +
  'Content-Type: rhizome/manifest; format=text+binarysig\r\n' +
  '\r\n' +
  'name=hello.txt\n\r\n' +
  '--XyZ\r\n' +
  'Content-Disposition: form-data; name="payload"; filename="hello.txt"\r\n' +
  '\r\n' +
  'Hello world!\n\r\n' +
  '--XyZ--\r\n';
const B2_PARTS: Parsed[] = [
  {
    headers: { contentDisposition: { type: 'form-data', name: 'bundle-author' }, contentType: CONTENT_TYPE_SID_HEX },
    body: Buffer.from(SID),
  },
  {
    headers: { contentDisposition: { type: 'form-data', name: 'manifest' }, contentType: CONTENT_TYPE_RHIZOME_MANIFEST },
    body: Buffer.from('name=hello.txt\n'),
  },
  {
    headers: { contentDisposition: { type: 'form-data', name: 'payload', filename: 'hello.txt' } },
    body: Buffer.from('Hello world!\n'),
  },
];

describe('parseMultipart: framing (spec §1.7)', () => {
  it('parses the body of Appendix B.2', async () => {
    assert.deepEqual(await parse(B2), B2_PARTS);
  });

  it('gives identical results at every split point and in 1-byte chunks', async () => {
    for (let i = 0; i <= B2.length; i++) {
      const data = Buffer.from(B2, 'latin1');
      assert.deepEqual(await collect(toAsync([data.subarray(0, i), data.subarray(i)])), B2_PARTS, `split at ${i}`);
    }
    assert.deepEqual(await parse(B2, [1]), B2_PARTS);
    assert.deepEqual(await parse(B2, [1, 2, 3, 5, 8, 13]), B2_PARTS);
  });

  it('keeps "--boundary" that is not a delimiter in the body', async () => {
    for (const inner of [
      'a--XyZ\r\nb', // not preceded by CRLF
      '\n--XyZ\r\n', // preceded by LF only
      '\r--XyZ\r\n', // preceded by CR only
      '\r\n--XyZx\r\n', // longer boundary
      '\r\n--XyZ-\r\n',
      '\r\n--XyZ--x',
      '\r\n--XyZ \r\n', // transport padding is not accepted
      '\r\n--XyZ--\r', // close delimiter without its LF
      '\r\n--xyz\r\n', // the boundary is case-sensitive
      '--XyZ\r\n', // at the very start of a body, the CRLF that ended the headers is not the delimiter's
      '\r\n\r\n--',
    ]) {
      const parts = await parse(`--XyZ\r\n${cd('a')}\r\n${inner}\r\n--XyZ--\r\n`);
      assert.deepEqual(text(parts), [['a', inner]], JSON.stringify(inner));
    }
  });

  it('ignores a preamble, with the first delimiter at the start or after any CRLF', async () => {
    const rest = `${cd('a')}\r\nA\r\n--XyZ--\r\n`;
    for (const preamble of ['', '\r\n', 'This is a preamble.\r\n', 'x--XyZ\r\nline\r\n\r\n', '--XyZz\r\n--XyZ-\r\n']) {
      assert.deepEqual(text(await parse(`${preamble}--XyZ\r\n${rest}`, [1])), [['a', 'A']], JSON.stringify(preamble));
      assert.deepEqual(text(await parse(`${preamble}--XyZ\r\n${rest}`)), [['a', 'A']], JSON.stringify(preamble));
    }
  });

  it('ignores the epilogue, delimiters included', async () => {
    const body = `--XyZ\r\n${cd('a')}\r\nA\r\n--XyZ--\r\nepilogue\r\n--XyZ\r\n${cd('b')}\r\nB\r\n--XyZ--\r\n--XyZ--`;
    assert.deepEqual(text(await parse(body)), [['a', 'A']]);
    assert.deepEqual(text(await parse(body, [1])), [['a', 'A']]);
  });

  it('accepts a multipart with no parts', async () => {
    assert.deepEqual(await parse('--XyZ--\r\n'), []);
    assert.deepEqual(await parse('preamble\r\n--XyZ--\r\nepilogue'), []);
  });

  it('keeps empty bodies, parts without headers, and CR/LF at the edges of a body', async () => {
    const body =
      `--XyZ\r\n${cd('empty')}\r\n\r\n` +
      `--XyZ\r\n\r\nno headers\r\n` +
      `--XyZ\r\n${cd('edges')}\r\n\r\n\r\n\r\n` +
      `--XyZ--\r\n`;
    const parts = await parse(body);
    assert.deepEqual(text(parts), [
      ['empty', ''],
      [undefined, 'no headers'],
      ['edges', '\r\n\r\n'],
    ]);
    assert.deepEqual(parts[1]!.headers, {});
  });

  it('ends a part when a delimiter appears among its headers (empty body)', async () => {
    const body = `--XyZ\r\n${cd('a')}--XyZ\r\n${cd('b')}\r\nB\r\n--XyZ\r\n${cd('c')}--XyZ--\r\n`;
    for (const sizes of [[], [1]]) {
      const parts = await parse(body, sizes);
      assert.deepEqual(text(parts), [
        ['a', ''],
        ['b', 'B'],
        ['c', ''],
      ]);
    }
  });

  it('does not interpret nested multiparts', async () => {
    const inner = '--inner\r\nContent-Disposition: form-data; name="x"\r\n\r\nX\r\n--inner--\r\n';
    const parts = await parse(`--XyZ\r\n${cd('a')}Content-Type: multipart/mixed; boundary=inner\r\n\r\n${inner}\r\n--XyZ--\r\n`);
    assert.deepEqual(text(parts), [['a', inner]]);
    assert.equal(parts[0]!.headers.contentType?.boundary, 'inner');
  });

  it('refuses a body without any delimiter: missing first boundary', async () => {
    for (const body of ['', 'hello', '\r\n', '--XyZ', '--XyZ\r', '--XyZ--', '--XyZ \r\n', 'x--XyZ\r\n', '\n--XyZ\r\n', '--xyz\r\n']) {
      await assertFails(body, 'FORM_MISSING_FIRST_BOUNDARY');
    }
  });

  it('refuses a body that ends before the closing delimiter and its CRLF: missing end boundary', async () => {
    const start = `--XyZ\r\n${cd('a')}\r\n`;
    for (const body of [
      '--XyZ\r\n',
      '--XyZ\r\nContent-Disposition: form-data',
      `--XyZ\r\n${cd('a')}`,
      start,
      `${start}body`,
      `${start}body\r\n`,
      `${start}body\r\n--XyZ`,
      `${start}body\r\n--XyZ--`, // closing delimiter without CRLF
      `${start}body\r\n--XyZ--\r`,
      `${start}body\r\n--XyZ-- \r\n`, // no transport padding
      `${start}body\r\n--XyZ\r\n`,
      `${start}body\r\n--XyZ\r\n${cd('b')}\r\nB`,
    ]) {
      await assertFails(body, 'FORM_MISSING_END_BOUNDARY');
    }
  });
});

describe('parseMultipart: part headers (spec §1.7)', () => {
  const one = (headers: string, sizes?: readonly number[], options?: MultipartOptions) =>
    parse(`--XyZ\r\n${headers}\r\nbody\r\n--XyZ--\r\n`, sizes, options);
  const failsWith = (headers: string, code: string, options?: MultipartOptions) =>
    assertFails(`--XyZ\r\n${headers}\r\nbody\r\n--XyZ--\r\n`, code, options);

  it('matches header names case-insensitively and skips unknown headers', async () => {
    const [part] = await one(
      'X-Unknown: anything "at all\\\r\n' +
        'content-disposition: form-data; name=a\r\n' +
        'CONTENT-TYPE: text/plain; charset=utf-8\r\n' +
        'Content-length: 4 \r\n' +
        'X-Empty:\r\n' +
        'X-Bare-LF: a\nb\r\n',
    );
    assert.deepEqual(part!.headers, {
      contentDisposition: { type: 'form-data', name: 'a' },
      contentType: CONTENT_TYPE_TEXT_UTF8,
      contentLength: 4n,
    });
  });

  it('treats Content-Length as advisory', async () => {
    const [part] = await one('Content-Length: 18446744073709551615\r\n');
    assert.equal(part!.headers.contentLength, 18446744073709551615n);
    assert.equal(part!.body.toString(), 'body');
  });

  it('parses every Content-Disposition parameter', async () => {
    const [part] = await one(
      'Content-Disposition: form-data ; name=payload;filename="a \\"quoted\\" name.txt"; size=13; ' +
        'creation-date="Wed, 12 Feb 1997 16:29:51 -0500"; modification-date="Thu, 1 Jan 1970 01:00:00 +0100"; ' +
        'read-date="Monday, 3 March 2025 10:20:30 +0000"; unknown=x; other="y;z"\r\n',
    );
    assert.deepEqual(part!.headers.contentDisposition, {
      type: 'form-data',
      name: 'payload',
      filename: 'a "quoted" name.txt',
      size: 13n,
      creationDate: Date.UTC(1997, 1, 12, 21, 29, 51),
      modificationDate: 0,
      readDate: Date.UTC(2025, 2, 3, 10, 20, 30),
    });
  });

  it('decodes name and filename as UTF-8', async () => {
    const [part] = await parse(
      Buffer.concat([
        Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="n\u00e9"; filename="'),
        Buffer.from('naïve ✓.txt', 'utf8'),
        Buffer.from('"\r\n\r\nbody\r\n--XyZ--\r\n'),
      ]),
    );
    assert.equal(part!.headers.contentDisposition?.name, 'né');
    assert.equal(part!.headers.contentDisposition?.filename, 'naïve ✓.txt');
  });

  it('enforces the name (63) and filename (127) limits', async () => {
    assert.equal((await one(cd('n'.repeat(63))))[0]!.headers.contentDisposition?.name?.length, 63);
    await failsWith(cd('n'.repeat(64)), 'FORM_MALFORMED_PART_HEADER');
    const [part] = await one(cd('a', `; filename="${'f'.repeat(127)}"`));
    assert.equal(part!.headers.contentDisposition?.filename?.length, 127);
    await failsWith(cd('a', `; filename="${'f'.repeat(128)}"`), 'FORM_MALFORMED_PART_HEADER');
  });

  it('refuses a duplicate recognised header, before looking at its value', async () => {
    await failsWith(cd('a') + cd('b'), 'FORM_DUPLICATE_PART_HEADER');
    await failsWith(`${cd('a')}content-disposition: form-data; name="a"\r\n`, 'FORM_DUPLICATE_PART_HEADER');
    await failsWith(`${cd('a')}Content-Disposition: ;;;\r\n`, 'FORM_DUPLICATE_PART_HEADER');
    await failsWith('Content-Type: text/plain\r\nContent-Type: text/plain\r\n', 'FORM_DUPLICATE_PART_HEADER');
    await failsWith('Content-Length: 1\r\ncontent-length: 1\r\n', 'FORM_DUPLICATE_PART_HEADER');
    // Unknown headers may repeat.
    assert.equal((await one('X-A: 1\r\nX-A: 2\r\n')).length, 1);
  });

  it('refuses malformed recognised headers and lines that are not headers', async () => {
    for (const line of [
      'Content-Type: text\r\n',
      'Content-Type:\r\n',
      'Content-Type: text/plain; charset=UTF 8\r\n',
      'Content-Type: text/plain\nX: y\r\n',
      'Content-Length: x\r\n',
      'Content-Length: 1 2\r\n',
      'Content-Length: -1\r\n',
      'Content-Length: 18446744073709551616\r\n',
      'Content-Disposition:\r\n',
      'Content-Disposition: form-data; name=\r\n',
      'Content-Disposition: form-data; name=""\r\n',
      'Content-Disposition: form-data; name="a\r\n',
      'Content-Disposition: form-data name="a"\r\n',
      'Content-Disposition: form-data; name = "a"\r\n',
      'Content-Disposition: form-data; size=12abc\r\n',
      'Content-Disposition: form-data; size="12"\r\n',
      'Content-Disposition: form-data; creation-date=Wed\r\n',
      'Content-Disposition: form-data; creation-date="yesterday"\r\n',
      'Content-Disposition: form-data; creation-date="Wed, 12 Feb 1997 16:29:51 GMT"\r\n',
      'Content-Disposition: form-data; read-date="Wed, 12 Feb 1997 16:29:51 -0500   "\r\n',
      'Content-Disposition: form-data; read-date="Wednesday,   12 February 1997 16:29:51 -0500"\r\n',
      `Content-Disposition: ${'t'.repeat(64)}\r\n`,
      'Content-Disposition: form-data; name="tab\there"\r\n',
      'Content-Type : text/plain\r\n', // no space before the colon
      'Not a header\r\n',
      ' folded: continuation\r\n',
      ': no name\r\n',
    ]) {
      await failsWith(line, 'FORM_MALFORMED_PART_HEADER');
    }
  });

  it('caps the part header block', async () => {
    await failsWith(cd('a', `; x="${'x'.repeat(20_000)}"`), 'FORM_PART_HEADER_TOO_LARGE');
    await failsWith(`${'x'.repeat(20_000)}\r\n`, 'FORM_PART_HEADER_TOO_LARGE');
    await failsWith(`X${'-'.repeat(20_000)}: y\r\n`, 'FORM_PART_HEADER_TOO_LARGE'); // name never seen whole
    // The limit counts all recognised lines of one part.
    const small = { maxHeaderBytes: 100 };
    assert.equal((await one(cd('a'), [], small)).length, 1);
    const type = 'Content-Type: text/plain; charset=utf-8; format=flowed\r\n';
    assert.equal(cd('a').length + type.length, 98);
    assert.equal((await one(cd('a') + type, [], small)).length, 1);
    await failsWith(`${cd('a')}${type.replace('flowed', 'flowed1234')}`, 'FORM_PART_HEADER_TOO_LARGE', small);
    // At the limit, an unfinished line that may still be the empty line or a delimiter is waited for.
    const full = { maxHeaderBytes: cd('a').length };
    assert.equal((await one(cd('a'), [1], full)).length, 1);
    assert.deepEqual(text(await parse(`--XyZ\r\n${cd('a')}--XyZ\r\n${cd('b')}\r\nB\r\n--XyZ--\r\n`, [1], full)), [['a', ''], ['b', 'B']]);
    // Unrecognised lines cost nothing.
    assert.equal((await one(`${cd('a')}X-A: ${'a'.repeat(90)}\r\n${type}`, [1], small)).length, 1);
    // A header line that never ends is refused long before the body would end.
    const endless = toAsync(
      (function* () {
        yield Buffer.from(`--XyZ\r\n${cd('a')}Content-Type: text/plain; x="`);
        for (;;) yield Buffer.alloc(1024, 'x');
      })(),
    );
    await assert.rejects(collect(endless), (err: unknown) => isTendrilError(err) && err.code === 'FORM_PART_HEADER_TOO_LARGE');
  });

  it('skips an over-long unrecognised header line without holding it', async () => {
    const body = `--XyZ\r\nX-Long: ${'y'.repeat(30_000)}\r\n${cd('a')}\r\nA\r\n--XyZ--\r\n`;
    const data = Buffer.from(body);
    const parts = parseMultipart(chunked(data, [1024]), 'XyZ');
    const seen: [string | undefined, string][] = [];
    for await (const part of parts) {
      const bytes: Buffer[] = [];
      for await (const chunk of part.body) bytes.push(chunk);
      seen.push([part.headers.contentDisposition?.name, Buffer.concat(bytes).toString()]);
    }
    assert.deepEqual(seen, [['a', 'A']]);
    assert.ok(parts.peakBufferedBytes <= 16 * 1024 + 1024, `peak ${parts.peakBufferedBytes}`);
    assert.deepEqual(text(await parse(body, [1])), [['a', 'A']]);
  });
});

describe('parseMultipart: consumption and memory', () => {
  const THREE = `--XyZ\r\n${cd('a')}\r\nAAAA\r\n--XyZ\r\n${cd('b')}\r\nBBBB\r\n--XyZ\r\n${cd('c')}\r\nCCCC\r\n--XyZ--\r\n`;

  it('skips the bodies the consumer does not read, wholly or partly', async () => {
    for (const sizes of [[], [1], [3]]) {
      const names: (string | undefined)[] = [];
      const bodies: string[] = [];
      for await (const part of parseMultipart(chunked(Buffer.from(THREE), sizes), 'XyZ')) {
        names.push(part.headers.contentDisposition?.name);
        if (part.headers.contentDisposition?.name === 'b') {
          for await (const chunk of part.body) {
            bodies.push(chunk.toString());
            break; // read one chunk only
          }
        }
      }
      assert.deepEqual(names, ['a', 'b', 'c']);
      assert.ok('BBBB'.startsWith(bodies.join('')) && bodies.join('').length > 0);
    }
    assert.deepEqual(text(await collect(chunked(Buffer.from(THREE), [2]), 'XyZ', {}, [false, true])), [
      ['a', ''],
      ['b', 'BBBB'],
      ['c', ''],
    ]);
  });

  it('refuses to read a body after moving on to the next part', async () => {
    const parts = parseMultipart(chunked(Buffer.from(THREE)), 'XyZ');
    const first = await parts.next();
    assert.ok(first.done !== true);
    await parts.next();
    await assert.rejects(async () => {
      for await (const _ of first.value.body) {
        // never reached
      }
    }, /after moving on/);
    await parts.return();
    // Nor the last part's body once iteration is over: its bytes are gone.
    let last: FormPart | undefined;
    for await (const part of parseMultipart(chunked(Buffer.from(THREE)), 'XyZ')) last = part;
    await assert.rejects(async () => {
      for await (const _ of last!.body) {
        // never reached
      }
    }, /after moving on/);
  });

  it('refuses concurrent reads that would interleave bytes', async () => {
    let release = () => {};
    const source = (async function* () {
      yield Buffer.from(`--XyZ\r\n${cd('a')}\r\nAAAA`);
      await new Promise<void>((resolve) => (release = resolve));
      yield Buffer.from('\r\n--XyZ--\r\n');
    })();
    const parts = parseMultipart(source, 'XyZ');
    const first = await parts.next();
    assert.ok(first.done !== true);
    const body = first.value.body[Symbol.asyncIterator]();
    assert.equal(await nextText(body), 'AAAA');
    const pending = body.next(); // waits for the source
    await assert.rejects(parts.next(), /concurrent/);
    release();
    await pending.catch(() => undefined);
  });

  it('pulls from the source only as the consumer reads', async () => {
    let pulls = 0;
    const source = toAsync(
      (function* () {
        for (const piece of [`--XyZ\r\n${cd('a')}\r\n`, 'one', 'two', 'three', '\r\n--XyZ--\r\n']) {
          pulls++;
          yield Buffer.from(piece);
        }
      })(),
    );
    const parts = parseMultipart(source, 'XyZ');
    const first = await parts.next();
    assert.ok(first.done !== true);
    assert.equal(pulls, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pulls, 1, 'nothing is read ahead of the consumer');
    const body = first.value.body[Symbol.asyncIterator]();
    assert.equal(await nextText(body), 'one');
    assert.equal(pulls, 2);
    assert.equal(await nextText(body), 'two');
    assert.equal(pulls, 3);
    assert.equal((await parts.next()).done, true);
    assert.equal(pulls, 5);
  });

  it('streams a 50 MiB body in bounded memory', async () => {
    const CHUNK = 64 * 1024;
    const COUNT = 800; // 50 MiB
    // Each chunk ends with the start of a delimiter that the next one breaks, so every chunk
    // boundary makes the parser carry bytes over.
    const block = Buffer.alloc(CHUNK, 'p');
    block.write('Z!', 0, 'latin1');
    block.write('\r\n--Xy', CHUNK - 6, 'latin1');
    let pulled = 0;
    const source = toAsync(
      (function* () {
        yield Buffer.from(`--XyZ\r\n${cd('payload')}\r\n`);
        for (let i = 0; i < COUNT; i++) {
          pulled += CHUNK;
          yield block;
        }
        yield Buffer.from('\r\n--XyZ--\r\n');
      })(),
    );
    const bound = CHUNK + '\r\n--XyZ--\r\n'.length;
    const parts = parseMultipart(source, 'XyZ');
    const hash = createHash('sha256');
    let consumed = 0;
    let largest = 0;
    let maxLag = 0;
    for await (const part of parts) {
      for await (const chunk of part.body) {
        consumed += chunk.length;
        largest = Math.max(largest, chunk.length);
        maxLag = Math.max(maxLag, pulled - consumed);
        hash.update(chunk);
      }
    }
    const expected = createHash('sha256');
    for (let i = 0; i < COUNT; i++) expected.update(block);
    assert.equal(consumed, CHUNK * COUNT);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
    assert.ok(largest <= bound, `largest chunk ${largest}`);
    assert.ok(maxLag <= bound, `read ahead of the consumer by ${maxLag}`);
    assert.ok(parts.peakBufferedBytes <= bound, `peak ${parts.peakBufferedBytes}`);
  });

  it('lets go of the source when the consumer stops early', async () => {
    let released = false;
    const source = toAsync(
      (function* () {
        try {
          yield Buffer.from(THREE);
          yield Buffer.from('never needed');
        } finally {
          released = true;
        }
      })(),
    );
    for await (const part of parseMultipart(source, 'XyZ')) {
      assert.equal(part.headers.contentDisposition?.name, 'a');
      break;
    }
    assert.ok(released);
  });

  it('does not destroy a Node stream on early exit or error, so an answer can still be written', async () => {
    const early = Readable.from([Buffer.from(THREE)]);
    for await (const _ of parseMultipart(early, 'XyZ')) break;
    assert.equal(early.destroyed, false);
    assert.equal(early.listenerCount('readable'), 0);

    const bad = Readable.from([Buffer.from('--XyZ\r\nnot a header\r\n\r\n--XyZ--\r\n')]);
    await assert.rejects(collect(bad), (err: unknown) => isTendrilError(err) && err.code === 'FORM_MALFORMED_PART_HEADER');
    assert.equal(bad.destroyed, false);

    assert.deepEqual(await collect(Readable.from([Buffer.from(B2)])), B2_PARTS);
  });

  it('over a real socket, parses the request and can answer a bad part while the upload continues', async () => {
    const server = createServer((req, res) => {
      collect(req)
        .then((parts) => res.end(JSON.stringify(text(parts))))
        .catch((err: unknown) => {
          res.statusCode = isTendrilError(err) ? err.status : 500;
          res.end(isTendrilError(err) ? err.code : 'internal');
          req.resume(); // discard the rest of the upload
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const post = (chunks: Buffer[]) =>
      new Promise<[number | undefined, string]>((resolve, reject) => {
        const length = chunks.reduce((n, c) => n + c.length, 0);
        // One request per connection, as Serval clients do, so that closing the server is immediate.
        const headers = { 'Content-Length': length, Connection: 'close' };
        const req = request({ port, method: 'POST', headers, agent: false }, (res) => {
          const body: Buffer[] = [];
          res.on('data', (c: Buffer) => body.push(c)).on('end', () => resolve([res.statusCode, Buffer.concat(body).toString()]));
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    try {
      const data = Buffer.from(B2, 'latin1');
      assert.deepEqual(await post([...pieces(data, [7, 50, 3])]), [200, JSON.stringify(text(B2_PARTS))]);
      // 8 MiB follow a malformed header: the 400 arrives, and the connection was not destroyed under it.
      const bad = Buffer.from(`--XyZ\r\n${cd('a')}Content-Type: nonsense\r\n\r\n`);
      const rest = Array.from({ length: 128 }, () => Buffer.alloc(64 * 1024, 'x'));
      assert.deepEqual(await post([bad, ...rest, Buffer.from('\r\n--XyZ--\r\n')]), [400, 'FORM_MALFORMED_PART_HEADER']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('encodeMultipart', () => {
  it('builds the body of Appendix B.2 byte for byte', () => {
    const built = encodeMultipart(
      [
        { name: 'bundle-author', contentType: CONTENT_TYPE_SID_HEX, body: SID },
        { name: 'manifest', contentType: 'rhizome/manifest; format=text+binarysig', body: Buffer.from('name=hello.txt\n') },
        { name: 'payload', filename: 'hello.txt', body: 'Hello world!\n' },
      ],
      'XyZ',
    );
    assert.equal(built.toString('latin1'), B2);
  });

  it('refuses what it cannot frame', () => {
    assert.throws(() => encodeMultipart([], ''), RangeError);
    assert.throws(() => encodeMultipart([], 'x'.repeat(71)), RangeError);
    assert.throws(() => encodeMultipart([{ name: 'a\r\nX: y', body: '' }], 'XyZ'), RangeError);
    assert.throws(() => encodeMultipart([{ name: 'a', body: 'x\r\n--XyZ\r\ny' }], 'XyZ'), RangeError);
    assert.throws(() => encodeMultipart([{ name: 'a', body: 'x\r\n--XyZ--\r\ny' }], 'XyZ'), RangeError);
    assert.throws(() => encodeMultipart([{ name: 'a', body: 'x\r\n--XyZ' }], 'XyZ'), RangeError);
    // A delimiter that is not followed by CRLF is just data.
    assert.doesNotThrow(() => encodeMultipart([{ name: 'a', body: 'x\r\n--XyZ-' }], 'XyZ'));
  });
});

describe('parseMultipart: properties', () => {
  const BOUNDARY_CHARS = [...'AXyZz09-_.+=:/?()\',', ' '];
  const boundaryArb = fc
    .string({ unit: fc.constantFrom(...BOUNDARY_CHARS), minLength: 1, maxLength: 12 })
    .filter((b) => !b.endsWith(' '));
  const textArb = (max: number) =>
    fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_."\\;=:/é✓'), minLength: 1, maxLength: max });
  // Body pieces: random bytes, or fragments that look like parts of the delimiter (chosen once the
  // boundary is known).
  const pieceArb = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 15 }));
  const fragments = (b: string) => [
    '\r', '\n', '\r\n', '-', '--', '\r\n--', b, b.slice(0, Math.ceil(b.length / 2)), `--${b}`, `\r\n--${b}`,
    `\r\n--${b}-`, `\r\n--${b}--`, `\r\n--${b} \r\n`, `\r\n--${b}x\r\n`, `--${b}\r\n`, `--${b}--\r\n`,
  ];
  const contentTypeArb = fc.option(
    fc.oneof(
      fc.constantFrom(CONTENT_TYPE_RHIZOME_MANIFEST, CONTENT_TYPE_TEXT_UTF8, CONTENT_TYPE_SID_HEX),
      boundaryArb.map((boundary) => ({ type: 'multipart', subtype: 'mixed', boundary })),
    ),
    { nil: undefined },
  );
  const partArb = fc.record({
    name: textArb(20),
    filename: fc.option(textArb(40), { nil: undefined }),
    contentType: contentTypeArb,
    pieces: fc.array(pieceArb, { maxLength: 12 }),
  });
  const chunkingArb = fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 });

  const materialise = (boundary: string, p: { readonly pieces: readonly (Uint8Array | number)[] }) =>
    Buffer.concat(
      p.pieces.map((x) => (typeof x === 'number' ? Buffer.from(fragments(boundary)[x]!, 'latin1') : Buffer.from(x))),
    );

  it('parse(encode(parts)) returns the parts, however the body is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(boundaryArb, fc.array(partArb, { maxLength: 5 }), chunkingArb, async (boundary, specs, sizes) => {
        const parts: PartSpec[] = specs.map((s) => ({
          name: s.name,
          filename: s.filename,
          contentType: s.contentType,
          body: materialise(boundary, s),
        }));
        let encoded: Buffer;
        try {
          encoded = encodeMultipart(parts, boundary);
        } catch (err) {
          fc.pre(!(err instanceof RangeError)); // a body happened to contain a whole delimiter
          throw err;
        }
        const parsed = await collect(chunked(encoded, sizes), boundary);
        assert.equal(parsed.length, parts.length);
        parts.forEach((part, i) => {
          const got = parsed[i]!;
          const disposition: Record<string, string> = { type: 'form-data', name: part.name };
          if (part.filename !== undefined) disposition.filename = part.filename;
          assert.deepEqual(got.headers.contentDisposition, disposition);
          const ct = part.contentType === undefined ? undefined : parseContentType(formatContentType(part.contentType as never));
          assert.deepEqual(got.headers.contentType, ct);
          assert.deepEqual(got.body, Buffer.from(part.body as Uint8Array));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('finds the same parts when the consumer skips bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(partArb, { minLength: 1, maxLength: 4 }),
        chunkingArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        async (specs, sizes, read) => {
          const parts = specs.map((s) => ({ name: s.name, body: materialise('XyZ', s) }));
          let encoded: Buffer;
          try {
            encoded = encodeMultipart(parts, 'XyZ');
          } catch (err) {
            fc.pre(!(err instanceof RangeError));
            throw err;
          }
          const parsed = await collect(chunked(encoded, sizes), 'XyZ', {}, read);
          assert.deepEqual(
            parsed.map((p) => p.headers.contentDisposition?.name),
            parts.map((p) => p.name),
          );
          parsed.forEach((p, i) => {
            if (read[i % read.length]) assert.deepEqual(p.body, parts[i]!.body);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('on garbage, throws only FORM_ TendrilErrors, and the same outcome however it is chunked', async () => {
    const LINES = [
      '--XyZ\r\n', '--XyZ--\r\n', '\r\n--XyZ\r\n', '\r\n--XyZ--\r\n', '\r\n', '\r\n\r\n', '\r', '\n', '--', 'XyZ',
      cd('a'), 'Content-Disposition: form-data; name=', 'Content-Type: text/plain; charset=utf-8\r\n',
      'Content-Type: x\r\n', 'Content-Length: 5\r\n', 'X-A: b\r\n', 'X-Long: ' + 'y'.repeat(70), ': \r\n', '"', '\\', ';', '=',
    ];
    // Usually framed like a real body, so that most runs get past the first delimiter.
    const garbageArb = fc
      .tuple(
        fc.constantFrom('--XyZ\r\n', '--XyZ\r\n', 'preamble\r\n--XyZ\r\n', ''),
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 10 }), fc.constantFrom(...LINES)), { maxLength: 30 }),
        fc.constantFrom('\r\n--XyZ--\r\n', '\r\n--XyZ--\r\n', '--XyZ--\r\n', ''),
      )
      .map(([start, middle, end]) => [start, ...middle, end]);
    const outcome = async (data: Buffer, sizes: readonly number[], read: readonly boolean[]) => {
      try {
        return await collect(chunked(data, sizes), 'XyZ', { maxHeaderBytes: 64 }, read);
      } catch (err) {
        assert.ok(isTendrilError(err) && err.code.startsWith('FORM_'), String(err));
        return err.code;
      }
    };
    await fc.assert(
      fc.asyncProperty(garbageArb, chunkingArb, fc.array(fc.boolean(), { maxLength: 3 }), async (bits, sizes, read) => {
        const data = Buffer.concat(bits.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
        assert.deepEqual(await outcome(data, sizes, read), await outcome(data, [], read));
      }),
      { numRuns: 1000 },
    );
  });
});
