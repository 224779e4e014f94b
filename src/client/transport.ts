/**
 * How the client reaches a node. A Transport is a fetch (for ordinary requests) plus `send`, for
 * uploads that report their progress and can be cancelled. In a browser, `fetchTransport` uses the
 * page's fetch and XMLHttpRequest (the only way a browser reports upload progress); in Node,
 * `nodeTransport` (src/client/node.ts) speaks HTTP over TCP, TLS or the control socket.
 */
import { blobParts, type UploadBody } from './multipart.js';

/**
 * The browser's XMLHttpRequest, as far as send() uses it. Declared here rather than through the DOM
 * library, which the rest of the project (Node code) must not see; at run time it is the global.
 */
interface Xhr {
  open(method: string, url: string): void;
  responseType: string;
  withCredentials: boolean;
  setRequestHeader(name: string, value: string): void;
  readonly upload: { onprogress: ((e: { loaded: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  readonly response: unknown;
  readonly status: number;
  readonly statusText: string;
  getAllResponseHeaders(): string;
  abort(): void;
  send(body: Blob): void;
}
declare const XMLHttpRequest: (new () => Xhr) | undefined;

export interface SendOptions {
  readonly method: string;
  /** Path and query, e.g. `/restful/rhizome/insert`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: UploadBody;
  /** Called as bytes of the body go out. */
  readonly onProgress?: (sent: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface Transport {
  /** The origin requests go to (`http://localhost` for the control socket; '' for the page's own). */
  readonly baseUrl: string;
  fetch(request: Request): Promise<Response>;
  /** Sends a request with an upload body; resolves with the response once its head arrives. */
  send(options: SendOptions): Promise<Response>;
  /** Releases kept-alive connections (Node); nothing to do in a browser. */
  close(): void;
}

/** An error like the one fetch throws when its signal aborts. */
export function abortError(): Error {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

/** Response headers from XMLHttpRequest's text form. */
function parseHeaders(text: string): Headers {
  const headers = new Headers();
  for (const line of text.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** A response object; statuses that may not carry a body get none. */
export function makeResponse(body: ConstructorParameters<typeof Response>[0], status: number, statusText: string, headers: Headers): Response {
  const empty = status === 204 || status === 205 || status === 304;
  return new Response(empty ? null : body, { status, statusText, headers });
}

function xhrSend(baseUrl: string, options: SendOptions, blob: Blob): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest!();
    xhr.open(options.method, baseUrl + options.path);
    xhr.responseType = 'blob';
    // Credentials go in the Authorization header the client sets, never the browser's own store.
    xhr.withCredentials = false;
    for (const [name, value] of Object.entries(options.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => options.onProgress?.(e.loaded, options.body.length);
    xhr.onload = () => resolve(makeResponse(xhr.response as Blob, xhr.status, xhr.statusText, parseHeaders(xhr.getAllResponseHeaders())));
    xhr.onerror = () => reject(new TypeError('network error'));
    xhr.onabort = () => reject(abortError());
    if (options.signal?.aborted) return reject(abortError());
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(blob);
  });
}

/** A transport over a fetch function: the browser's by default. */
export function fetchTransport(options: { baseUrl: string; fetch?: (request: Request) => Promise<Response> }): Transport {
  const doFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  return {
    baseUrl: options.baseUrl,
    fetch: doFetch,
    async send(send) {
      const blob = send.body.blob?.();
      if (blob && typeof XMLHttpRequest !== 'undefined') return xhrSend(options.baseUrl, send, blob);
      // Without XMLHttpRequest (a worker, Node's fetch): the whole body, progress at the end.
      const body = blob ?? new Blob(blobParts(await collect(send.body.chunks())));
      const response = await doFetch(
        new Request(options.baseUrl + send.path, { method: send.method, headers: send.headers, body, signal: send.signal }),
      );
      send.onProgress?.(send.body.length, send.body.length);
      return response;
    },
    close() {},
  };
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}
