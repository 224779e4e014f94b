/**
 * The soak's HTTP client: requests as a long-lived REST client makes them, over one keep-alive
 * connection per worker and each bounded by a deadline (a request that hangs is a failure, not a
 * stall of the soak), and long-polls on connections of their own, read to their end or aborted
 * part-way as a client that goes away aborts them.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { encodeMultipart, type PartSpec } from '../../src/http/multipart.js';
import { HARRY } from '../helpers/node.js';

const BOUNDARY = 'SoAkBoUnDaRy';
export const MANIFEST_TYPE = 'rhizome/manifest; format=text+binarysig';
export const TEXT_UTF8 = 'text/plain; charset=utf-8';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export class SoakClient {
  readonly #port: number;
  readonly #timeoutMs: number;
  /**
   * One socket: a worker sends one request at a time and, with `keepAlive`, keeps its connection
   * between them (its pauses are far shorter than the node's keep-alive timeout, so it never
   * sends on a connection the node is closing).
   */
  readonly agent: Agent;

  constructor(port: number, timeoutMs: number, keepAlive = true) {
    this.#port = port;
    this.#timeoutMs = timeoutMs;
    this.agent = new Agent({ keepAlive, maxSockets: 1 });
  }

  /** Sockets this client holds open (in use or idle). */
  openSockets(): number {
    const count = (m: NodeJS.ReadOnlyDict<unknown[]>): number => Object.values(m).reduce((n, list) => n + (list?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send('GET', path, headers);
  }

  postForm(path: string, parts: readonly PartSpec[]): Promise<Reply> {
    const body = encodeMultipart(parts, BOUNDARY);
    return this.send('POST', path, { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(body.length) }, body);
  }

  post(path: string): Promise<Reply> {
    return this.send('POST', path, { 'Content-Length': '0' });
  }

  delete(path: string): Promise<Reply> {
    return this.send('DELETE', path);
  }

  send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.#port, method, path, agent: this.agent, headers: { Authorization: HARRY, ...headers }, timeout: this.#timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
          res.on('aborted', () => reject(new Error(`${method} ${path}: response cut short`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${this.#timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LongPollEnd {
  readonly status: number;
  readonly body: string;
  /** The client aborted it (abort() was called) before it ended. */
  readonly aborted: boolean;
}

export interface LongPoll {
  readonly done: Promise<LongPollEnd>;
  abort(): void;
}

/**
 * GET `path` on a connection of its own and read the streamed table to its end. A long-poll that
 * neither ends nor is aborted within `deadlineMs` rejects: the node failed to close it.
 */
export function openLongPoll(port: number, path: string, deadlineMs: number): LongPoll {
  let aborted = false;
  let req!: ReturnType<typeof request>;
  const done = new Promise<LongPollEnd>((resolve, reject) => {
    let status = 0;
    let body = '';
    const settle = (err?: Error): void => {
      clearTimeout(watchdog);
      if (aborted) resolve({ status, body, aborted: true });
      else if (err) reject(err);
      else resolve({ status, body, aborted: false });
    };
    const watchdog = setTimeout(() => req.destroy(new Error(`${path}: the long-poll did not end in ${deadlineMs} ms`)), deadlineMs);
    req = request({ host: '127.0.0.1', port, method: 'GET', path, agent: false, headers: { Authorization: HARRY } }, (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => settle());
      res.on('error', settle);
      res.on('aborted', () => settle(new Error(`${path}: the long-poll was cut short`)));
    });
    req.on('error', settle);
    req.end();
  });
  return {
    done,
    abort() {
      aborted = true;
      req.destroy();
    },
  };
}
