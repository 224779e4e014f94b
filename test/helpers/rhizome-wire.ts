/**
 * Test support for Rhizome uploads the way real clients send them: multipart bodies streamed from
 * generators (so a test never holds a large payload), chunked transfer coding, and
 * `Expect: 100-continue` spoken over a raw socket so the interim response can be seen.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { HARRY } from './node.js';

export const BOUNDARY = 'WiReBoUnDaRy7tendril';

export interface StreamPart {
  readonly name: string;
  readonly contentType?: string;
  readonly filename?: string;
  /** Bytes, or a source of chunks read as they are sent. */
  readonly body: string | Buffer | AsyncIterable<Buffer> | Iterable<Buffer>;
}

/** A multipart/form-data body, produced part by part and chunk by chunk. */
export async function* multipartStream(parts: readonly StreamPart[], boundary = BOUNDARY): AsyncGenerator<Buffer> {
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    if (part.contentType !== undefined) head += `\r\nContent-Type: ${part.contentType}`;
    yield Buffer.from(`${head}\r\n\r\n`, 'utf8');
    if (typeof part.body === 'string') yield Buffer.from(part.body, 'utf8');
    else if (Buffer.isBuffer(part.body)) yield part.body;
    else for await (const chunk of part.body) yield chunk;
    yield Buffer.from('\r\n', 'latin1');
  }
  yield Buffer.from(`--${boundary}--\r\n`, 'latin1');
}

/** Length of the multipart framing around parts of the given sizes (for a Content-Length). */
export function multipartLength(parts: ReadonlyArray<Omit<StreamPart, 'body'> & { readonly size: number }>, boundary = BOUNDARY): number {
  let total = 0;
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    if (part.contentType !== undefined) head += `\r\nContent-Type: ${part.contentType}`;
    total += Buffer.byteLength(`${head}\r\n\r\n`, 'utf8') + part.size + 2;
  }
  return total + Buffer.byteLength(`--${boundary}--\r\n`);
}

export interface StreamReply {
  readonly status: number;
  readonly reason: string;
  /** Header names and values in the order they were sent. */
  readonly rawHeaders: readonly string[];
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/**
 * POSTs a streamed body with node:http (backpressure respected: the next chunk is produced only
 * when the socket has taken the previous one). Chunked unless `contentLength` is given.
 */
export function postStream(
  port: number,
  path: string,
  body: AsyncIterable<Buffer>,
  options: { contentLength?: number; boundary?: string } = {},
): Promise<StreamReply> {
  const headers: Record<string, string | number> = {
    Authorization: HARRY,
    'Content-Type': `multipart/form-data; boundary=${options.boundary ?? BOUNDARY}`,
  };
  if (options.contentLength !== undefined) headers['Content-Length'] = options.contentLength;
  else headers['Transfer-Encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          reason: res.statusMessage ?? '',
          rawHeaders: res.rawHeaders,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A server that answers early and closes may reset the upload; its answer still counts.
      if (!answered) reject(err);
    });
    (async () => {
      for await (const chunk of body) {
        if (answered || req.destroyed) break;
        if (!req.write(chunk)) await new Promise<void>((r) => req.once('drain', r));
      }
      req.end();
    })().catch((err: unknown) => req.destroy(err as Error));
  });
}

export interface RawExchange {
  /** Interim (1xx) status lines received before the final response. */
  readonly interim: readonly string[];
  readonly statusLine: string;
  /** Header names and values in order. */
  readonly headerList: ReadonlyArray<readonly [string, string]>;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** Whether the request body was sent (false when the final answer came first). */
  readonly bodySent: boolean;
}

function chunked(chunk: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, Buffer.from('\r\n', 'latin1')]);
}

/**
 * A POST over a raw socket as curl sends large uploads: `Expect: 100-continue`, chunked, and the
 * body held back until `100 Continue` arrives (or `continueWaitMs` pass, as curl does). The server
 * is asked to close after answering, so the response ends at EOF.
 */
export function rawPost(
  port: number,
  path: string,
  body: AsyncIterable<Buffer> | readonly Buffer[],
  options: { expectContinue?: boolean; continueWaitMs?: number; boundary?: string } = {},
): Promise<RawExchange> {
  const expect = options.expectContinue ?? true;
  const head = [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Authorization: ${HARRY}`,
    `Content-Type: multipart/form-data; boundary=${options.boundary ?? BOUNDARY}`,
    'Transfer-Encoding: chunked',
    ...(expect ? ['Expect: 100-continue'] : []),
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const interim: string[] = [];
    let finalStart = -1;
    let bodySent = false;
    let sending = false;
    let release: (() => void) | undefined;

    const sendBody = async (): Promise<void> => {
      if (sending || finalStart >= 0) return;
      sending = true;
      for await (const chunk of body) {
        if (finalStart >= 0 || socket.destroyed) return;
        if (chunk.length === 0) continue;
        if (!socket.write(chunked(chunk))) await new Promise<void>((r) => socket.once('drain', r));
      }
      if (finalStart >= 0 || socket.destroyed) return;
      socket.write('0\r\n\r\n');
      bodySent = true;
    };
    const startBody = (): void => {
      release = undefined;
      sendBody().catch((err: unknown) => socket.destroy(err as Error));
    };

    /** Consumes complete interim responses at the front of what was received. */
    const scan = (): void => {
      while (finalStart < 0) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const line = received.subarray(0, received.indexOf('\r\n')).toString('latin1');
        if (/^HTTP\/1\.1 1\d\d /.test(line)) {
          interim.push(line);
          received = received.subarray(end + 4);
          if (line.startsWith('HTTP/1.1 100')) release?.();
          continue;
        }
        finalStart = 0;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      scan();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close while a refused upload is still being sent.
      if (finalStart < 0 && err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => {
      scan();
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        reject(new Error(`no response (got ${JSON.stringify(received.toString('latin1'))})`));
        return;
      }
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const headerList = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const);
      resolve({
        interim,
        statusLine: lines[0]!,
        headerList,
        headers: new Map(headerList.map(([k, v]) => [k.toLowerCase(), v])),
        body: dechunk(received.subarray(end + 4), new Map(headerList.map(([k, v]) => [k.toLowerCase(), v]))),
        bodySent,
      });
    });
    socket.write(head);
    if (!expect) startBody();
    else {
      release = startBody;
      const timer = setTimeout(() => release?.(), options.continueWaitMs ?? 1000);
      socket.once('close', () => clearTimeout(timer));
    }
  });
}

/** The body of a response that may use chunked transfer coding. */
function dechunk(body: Buffer, headers: ReadonlyMap<string, string>): Buffer {
  if (!/chunked/i.test(headers.get('transfer-encoding') ?? '')) return body;
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A payload of `size` bytes made on the fly from a seed, in `chunk`-sized pieces, never held whole. */
export function* generatedPayload(size: number, seed: number, chunk = 1024 * 1024): Generator<Buffer> {
  const block = Buffer.alloc(chunk);
  // A cheap xorshift fill, so the bytes are not trivially compressible or repetitive.
  let x = seed >>> 0 || 1;
  for (let i = 0; i < chunk; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  let sent = 0;
  let n = 0;
  while (sent < size) {
    const length = Math.min(chunk, size - sent);
    // Each chunk differs (its index in the first bytes), so no two are alike.
    const out = Buffer.from(block.subarray(0, length));
    if (length >= 8) out.writeBigUInt64LE(BigInt(n), 0);
    sent += length;
    n++;
    yield out;
  }
}

/** The same bytes as generatedPayload, whole (for payloads small enough to hold). */
export function generatedBytes(size: number, seed: number): Buffer {
  return Buffer.concat([...generatedPayload(size, seed)]);
}
