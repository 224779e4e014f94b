/**
 * Test support for hostile clients: bytes written to a raw socket (in pieces, with pauses, with or
 * without a half-close), and every HTTP response that comes back, parsed one after another, with
 * whether the server closed the connection.
 */
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Lower-case names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export interface RawOutcome {
  readonly responses: readonly RawResponse[];
  /** The server closed the connection (rather than the wait running out). */
  readonly closed: boolean;
  /** Bytes after the last complete response (a response cut short). */
  readonly rest: Buffer;
  /** The write side failed (the server stopped reading and reset the connection). */
  readonly writeFailed: boolean;
}

/** A pause in a sequence of pieces, in milliseconds. */
export class Pause {
  constructor(readonly ms: number) {}
}

export type Piece = Buffer | string | Pause;

export interface ExchangeOptions {
  /** End our side once everything is written (the server may still answer). */
  readonly halfClose?: boolean;
  /** Give up waiting for the server to close after this long (default 5 s). */
  readonly waitMs?: number;
  /** Stop waiting as soon as this many responses are complete. */
  readonly responses?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `pieces` (strings as latin1, so any byte can be written) and collects the responses. */
export function exchange(port: number, pieces: readonly Piece[] | Piece, options: ExchangeOptions = {}): Promise<RawOutcome> {
  const list = Array.isArray(pieces) ? (pieces as readonly Piece[]) : [pieces as Piece];
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let writeFailed = false;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const { responses, rest } = parseResponses(received, closed);
      resolve({ responses, closed, rest, writeFailed });
    };
    const timer = setTimeout(() => finish(false), options.waitMs ?? 5000);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (options.responses !== undefined && parseResponses(received, false).responses.length >= options.responses) finish(false);
    });
    socket.on('error', () => {
      writeFailed = true;
    });
    socket.on('close', () => finish(true));
    void (async () => {
      for (const piece of list) {
        if (done || socket.destroyed) return;
        if (piece instanceof Pause) {
          await sleep(piece.ms);
          continue;
        }
        const data = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
        if (!socket.write(data)) await new Promise<void>((r) => socket.once('drain', r).once('close', r));
      }
      if (options.halfClose && !socket.destroyed) socket.end();
    })();
  });
}

/** Every complete response in `data`; `ended` says the stream ended (a body may run to its end). */
export function parseResponses(data: Buffer, ended: boolean): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
    if (!m) break;
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    let next = headEnd + 4;
    let body: Buffer;
    const status = Number(m[1]);
    if (status >= 100 && status < 200) {
      at = next;
      continue;
    }
    const length = headers.get('content-length');
    if (length !== undefined) {
      if (data.length < next + Number(length)) break;
      body = data.subarray(next, next + Number(length));
      next += Number(length);
    } else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const pieces: Buffer[] = [];
      let complete = false;
      for (;;) {
        const eol = data.indexOf('\r\n', next);
        if (eol < 0) break;
        const size = Number.parseInt(data.subarray(next, eol).toString('latin1'), 16);
        if (size === 0) {
          if (data.length < eol + 4) break;
          next = eol + 4;
          complete = true;
          break;
        }
        if (data.length < eol + 2 + size + 2) break;
        pieces.push(data.subarray(eol + 2, eol + 2 + size));
        next = eol + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(pieces);
    } else {
      if (!ended) break;
      body = data.subarray(next);
      next = data.length;
    }
    responses.push({ status, reason: m[2] ?? '', headers, body });
    at = next;
  }
  return { responses, rest: data.subarray(at) };
}
