/**
 * Links this node opens (docs/sync.md §2): one per configured peer, kept up for as long as the
 * peer is configured. `POST BASE/sync/v1/link` with a chunked body that never ends while the link
 * lives; our frames go in the request body, the peer's come back in the response body, so the
 * link works both ways even when only we can reach the peer (we are behind NAT and serve nothing).
 *
 * A link that fails or ends is opened again after a delay that doubles from 1 s up to 30 s (a
 * link that lived a minute starts the count again), with jitter so that many nodes that lost the
 * same peer do not come back at the same instant.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../../log.js';
import { chunksOf } from './chunks.js';
import type { LinkTransport } from './link.js';
import type { PeerConfig, PeerFound } from './types.js';

export const SYNC_CONTENT_TYPE = 'application/x-tendril-sync';
export const LINK_PATH = '/sync/v1/link';

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
const CONNECT_TIMEOUT_MS = 15_000;

/** A peer a dialer keeps a link to: its URL configured, or found on the local network. */
export type DialPeer = PeerConfig & { readonly tokenFile?: string; readonly found: Exclude<PeerFound, 'incoming'> };

export class LinkRefused extends Error {
  override readonly name = 'LinkRefused';
}

function readSecretFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new LinkRefused(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The token of a peer: given, or read from its token file (first line). */
export function peerToken(peer: PeerConfig & { readonly tokenFile?: string }): string | undefined {
  if (peer.token !== undefined) return peer.token;
  if (peer.tokenFile === undefined) return undefined;
  return readSecretFile(peer.tokenFile, 'token file').toString('utf8').split(/\r?\n/)[0]!.trim();
}

/** Opens the HTTP exchange of a link; its input fails with LinkRefused if the peer refuses it. */
export function openLink(peer: PeerConfig & { readonly tokenFile?: string }): LinkTransport {
  const url = new URL(peer.url);
  const https = url.protocol === 'https:';
  const token = peerToken(peer);
  const headers: Record<string, string> = { 'Content-Type': SYNC_CONTENT_TYPE, 'Transfer-Encoding': 'chunked' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const options = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
    path: `${url.pathname.replace(/\/+$/, '')}${LINK_PATH}`,
    method: 'POST',
    headers,
    agent: false as const,
  };
  const req: ClientRequest = https
    ? httpsRequest({
        ...options,
        ca: peer.ca === undefined ? undefined : readSecretFile(peer.ca, 'CA file'),
        cert: peer.cert === undefined ? undefined : readSecretFile(peer.cert, 'certificate file'),
        key: peer.key === undefined ? undefined : readSecretFile(peer.key, 'key file'),
      })
    : httpRequest(options);
  req.on('socket', (socket) => socket.setNoDelay(true));
  const connect = setTimeout(() => req.destroy(new LinkRefused('no answer')), CONNECT_TIMEOUT_MS);
  connect.unref();
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', (res) => {
      clearTimeout(connect);
      resolve(res);
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connect);
      reject(err instanceof LinkRefused ? err : new LinkRefused(err.code ?? err.message));
    });
  });
  // Our HELLO goes with the request; the response headers come with the peer's.
  req.flushHeaders();
  async function* input(): AsyncIterable<Buffer> {
    const res = await response;
    if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith(SYNC_CONTENT_TYPE)) {
      let text = '';
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (text.length < 2000) text += chunk.toString('utf8');
      }
      let message = res.statusMessage ?? '';
      try {
        message = String((JSON.parse(text) as { http_status_message?: string }).http_status_message ?? message);
      } catch {
        // not a JSON result
      }
      throw new LinkRefused(`HTTP ${res.statusCode}${message ? ` ${message}` : ''}`);
    }
    yield* chunksOf(res);
  }
  return {
    input: input(),
    output: req,
    destroy: () => {
      req.destroy();
      void response.then((res) => res.destroy()).catch(() => undefined);
    },
  };
}

/** Keeps a link to one configured peer up. */
export class PeerDialer {
  readonly peer: DialPeer;
  state: 'connecting' | 'linked' | 'waiting' | 'stopped' = 'waiting';
  lastError: string | undefined;
  retryAt: number | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stop: (() => void) | undefined;
  readonly #run: (transport: LinkTransport) => { done: Promise<string | undefined>; close: () => void };
  readonly #log: Logger;

  /** `run` serves the link over the transport and resolves with why it ended. */
  constructor(
    peer: DialPeer,
    run: (transport: LinkTransport) => { done: Promise<string | undefined>; close: () => void },
    log: Logger,
  ) {
    this.peer = peer;
    this.#run = run;
    this.#log = log;
  }

  start(): void {
    this.#attempt();
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.#timer);
    this.#stop?.();
  }

  /** Try again now (a configuration change, or a test). */
  now(): void {
    if (this.state !== 'waiting') return;
    clearTimeout(this.#timer);
    this.#attempt();
  }

  #attempt(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    this.retryAt = undefined;
    const started = Date.now();
    let transport: LinkTransport;
    try {
      transport = openLink(this.peer);
    } catch (err) {
      this.#ended(started, (err as Error).message);
      return;
    }
    const { done, close } = this.#run(transport);
    this.#stop = close;
    this.state = 'linked';
    void done.then((reason) => this.#ended(started, reason));
  }

  #ended(started: number, reason: string | undefined): void {
    this.#stop = undefined;
    if (this.state === 'stopped') return;
    this.lastError = reason;
    if (Date.now() - started > 60_000) this.#failures = 0;
    let delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.#failures++);
    // The peer keeps a link to us open already, or we dialled ourselves: no point hurrying.
    if (reason === 'peer said duplicate' || reason === 'refused: duplicate') delay = 300_000;
    if (reason === 'peer said self' || reason === 'refused: self') delay = 3_600_000;
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    this.state = 'waiting';
    this.retryAt = Date.now() + delay;
    this.#log.debug({ peer: this.peer.url, reason, delayMs: delay }, 'sync peer: next attempt');
    this.#timer = setTimeout(() => this.#attempt(), delay);
    this.#timer.unref();
  }
}
