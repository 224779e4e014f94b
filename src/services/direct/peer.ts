/**
 * The client side of Rhizome Direct's four requests to one peer, framed as the reference's client
 * frames them (rhizome_direct_http.c, rhizome_fetch.c): one connection per request, a
 * Content-Length on every upload, the same multipart part names and filenames. Counts its round
 * trips and the bytes on the wire, for the summary and the benchmarks.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { formatPeer, type PeerAddress } from '../../formats/direct-peer.js';
import { toHex } from '../../formats/hex.js';

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Largest answers read whole: an enquiry's (at most 10 + 16 × 6,142 bytes), a manifest, a status page. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** A failure talking to the peer: no answer, or an answer that is not the one expected. */
export class PeerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

export interface PeerAnswer {
  readonly status: number;
  readonly reason: string;
  readonly headers: IncomingMessage['headers'];
  readonly res: IncomingMessage;
}

interface Upload {
  readonly length: number;
  readonly body: () => Readable;
}

export interface PeerCounters {
  readonly roundTrips: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

const PART_TYPE = 'Content-Type: application/octet-stream\r\n\r\n';

function partHead(boundary: string, name: string, filename: string, first: boolean): Buffer {
  return Buffer.from(`${first ? '' : '\r\n'}--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n${PART_TYPE}`, 'latin1');
}

export class DirectPeer {
  readonly #idleTimeoutMs: number;
  #roundTrips = 0;
  /** Bytes of the connections closed so far, and the connections still open. */
  #closedSent = 0;
  #closedReceived = 0;
  readonly #open = new Set<Socket>();

  constructor(
    readonly address: PeerAddress,
    private readonly signal?: AbortSignal,
    idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
  ) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Requests made and bytes on the wire so far (headers included). */
  get counters(): PeerCounters {
    let bytesSent = this.#closedSent;
    let bytesReceived = this.#closedReceived;
    for (const s of this.#open) {
      bytesSent += s.bytesWritten;
      bytesReceived += s.bytesRead;
    }
    return { roundTrips: this.#roundTrips, bytesSent, bytesReceived };
  }

  /** POST /rhizome/enquiry with `data` (range ‖ BARs); resolves with the answer's body. */
  async enquiry(data: Buffer): Promise<Buffer> {
    const boundary = randomBytes(8).toString('hex');
    const body = Buffer.concat([partHead(boundary, 'data', 'IHAVEs', true), data, Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')]);
    const answer = await this.send('POST', '/rhizome/enquiry', multipartHeaders(boundary, body.length), { length: body.length, body: () => Readable.from([body]) });
    if (answer.status !== 200) {
      answer.res.resume();
      throw new PeerError(`enquiry refused: ${answer.status} ${answer.reason}`, answer.status);
    }
    return readAll(answer.res, MAX_ANSWER_BYTES);
  }

  /** GET /rhizome/manifestbyprefix/HEX: the signed manifest, or undefined for a 404. */
  async manifestByPrefix(prefix: Buffer): Promise<Buffer | undefined> {
    const answer = await this.send('GET', `/rhizome/manifestbyprefix/${toHex(prefix)}`);
    if (answer.status === 404) {
      answer.res.resume();
      return undefined;
    }
    if (answer.status !== 200) {
      answer.res.resume();
      throw new PeerError(`manifest refused: ${answer.status} ${answer.reason}`, answer.status);
    }
    return readAll(answer.res, MAX_ANSWER_BYTES);
  }

  /**
   * GET /rhizome/file/HASH, from byte `start` on when start > 0 (a journal's new tail). Resolves
   * with the answer (200 or 206) whose body the caller reads; anything else is an error.
   */
  async file(hash: Buffer, start: number, length: number): Promise<PeerAnswer> {
    const headers: OutgoingHttpHeaders = start > 0 ? { Range: `bytes=${start}-${length - 1}` } : {};
    const answer = await this.send('GET', `/rhizome/file/${toHex(hash)}`, headers);
    if (answer.status !== 200 && answer.status !== 206) {
      answer.res.resume();
      throw new PeerError(`payload refused: ${answer.status} ${answer.reason}`, answer.status);
    }
    return answer;
  }

  /**
   * POST /rhizome/import with the manifest and the payload (`payloadLength` bytes from `payload`,
   * possibly none); resolves with the status and reason of the answer.
   */
  async import(manifest: Buffer, payloadLength: number, payload: () => Promise<Readable>): Promise<{ status: number; reason: string }> {
    const boundary = randomBytes(8).toString('hex');
    const head = Buffer.concat([partHead(boundary, 'manifest', 'm', true), manifest, partHead(boundary, 'data', 'd', false)]);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
    const length = head.length + payloadLength + tail.length;
    const body = (): Readable =>
      Readable.from(
        (async function* () {
          yield head;
          if (payloadLength > 0) yield* await payload();
          yield tail;
        })(),
      );
    const answer = await this.send('POST', '/rhizome/import', multipartHeaders(boundary, length), { length, body });
    await readAll(answer.res, MAX_ANSWER_BYTES);
    return { status: answer.status, reason: answer.reason };
  }

  /** One request on a connection of its own; resolves when the answer's head has arrived. */
  private send(method: string, path: string, headers: OutgoingHttpHeaders = {}, upload?: Upload): Promise<PeerAnswer> {
    const { protocol, host, port } = this.address;
    const request = protocol === 'https' ? httpsRequest : httpRequest;
    this.#roundTrips++;
    return new Promise((resolve, reject) => {
      const req = request({ method, host, port, path, headers: { ...headers, Connection: 'close' }, agent: false, signal: this.signal });
      let socket: Socket | undefined;
      req.once('socket', (s: Socket) => {
        socket = s;
        this.#open.add(s);
        s.once('close', () => {
          this.#open.delete(s);
          this.#closedSent += s.bytesWritten;
          this.#closedReceived += s.bytesRead;
        });
      });
      req.setTimeout(this.#idleTimeoutMs, () => req.destroy(new PeerError(`no answer from ${formatPeer(this.address)} for ${this.#idleTimeoutMs / 1000} s`)));
      req.on('error', (err) => reject(asPeerError(err)));
      let answered = false;
      req.once('response', (res) => {
        answered = true;
        res.on('error', () => socket?.destroy());
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, res });
      });
      if (!upload) {
        req.end();
        return;
      }
      // Not pipeline(): a peer may answer before the upload is done (it had the bundle) and stop
      // reading; the rest is not needed, and the answer must not be destroyed with the upload.
      const body = upload.body();
      body.once('error', (err) => {
        if (!answered) req.destroy(asPeerError(err));
      });
      req.once('close', () => body.destroy());
      body.pipe(req);
    });
  }
}

function multipartHeaders(boundary: string, length: number): OutgoingHttpHeaders {
  return { 'Content-Length': length, 'Content-Type': `multipart/form-data; boundary=${boundary}` };
}

function asPeerError(err: unknown): Error {
  if (err instanceof PeerError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.name === 'AbortError') return e;
  return new PeerError(e.code ? `${e.code}: ${e.message}` : (e.message ?? String(err)));
}

/** Reads a whole body, refusing one longer than `max` (a peer that never stops). */
export async function readAll(res: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.destroy();
      throw new PeerError(`answer longer than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  if (!res.complete) throw new PeerError('answer cut short');
  return Buffer.concat(chunks);
}
