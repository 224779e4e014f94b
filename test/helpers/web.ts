/**
 * Test support for web servers: requests over HTTP or HTTPS (with the test CA and an optional
 * client certificate), a dedicated web server in its own process (`tendril web server …`, as a user
 * starts one), and a check that nothing listens on a port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { InstancePaths } from '../../src/node/instance.js';
import { watchChild, waitReady } from './child-node.js';
import { cliArgs, cliEnv, REPO_ROOT } from './cli.js';
import { readReply, type Reply } from './node.js';
import { parseResponses, type RawResponse } from './raw-http.js';

export interface WebRequestOptions {
  readonly headers?: Record<string, string | number>;
  readonly body?: Buffer | string;
  /** HTTPS: the CA that signed the server's certificate. */
  readonly ca?: Buffer;
  /** HTTPS: a client certificate and its key. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** One request to `url` + `path` (http: or https:), no credentials unless given in headers. */
export function webRequest(url: string, method: string, path: string, options: WebRequestOptions = {}): Promise<Reply> {
  const target = new URL(path, url);
  const tls = target.protocol === 'https:';
  const common = { host: target.hostname, port: target.port, method, path: target.pathname + target.search, headers: options.headers, agent: false as const };
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => void readReply(res).then(resolve, reject);
    const req = tls
      ? httpsRequest({ ...common, ca: options.ca, cert: options.cert, key: options.key }, onResponse)
      : httpRequest(common, onResponse);
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Resolves true if something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ChildWebServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** What it wrote so far (its log lines and banner). */
  output(): string;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it is gone. */
  stop(): Promise<void>;
}

const BANNER = /listening on (https?:\/\/[^\s/]+)[/ ]/;

/** Runs `tendril --instance DIR web server ...args` and waits for its banner. */
export async function spawnWebServer(paths: InstancePaths, args: readonly string[], timeoutMs = 20_000): Promise<ChildWebServer> {
  const child = spawn(process.execPath, cliArgs(paths.root, ['web', 'server', ...args]), {
    cwd: REPO_ROOT,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (t: string) => (output += t));
  child.stderr.on('data', (t: string) => (output += t));
  const watched = watchChild(child);
  const url = await waitReady(child, watched, () => BANNER.exec(output)?.[1], 'web server', () => output, timeoutMs);
  return { child, pid: child.pid!, url, port: Number(new URL(url).port), exited: watched.exited, output: () => output, stop: watched.stop };
}

/** Polls `probe` every few milliseconds until it returns true; resolves with the time it took. */
export async function timeUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** TLS client material for a raw exchange with an HTTPS server. */
export interface RawTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/**
 * Writes `head` (a whole request, as bytes) to the server of `url` — over TLS for https: — and
 * returns the first response, parsed, once the server has sent it all or closed (within `waitMs`).
 * Nothing is added to the request: the test decides every header, the Host header included.
 */
export function rawWebExchange(url: string, head: string, tlsOptions: RawTls = {}, waitMs = 5000): Promise<RawResponse | undefined> {
  const target = new URL(url);
  const port = Number(target.port);
  return new Promise((resolve) => {
    const socket = target.protocol === 'https:' ? tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...tlsOptions }) : connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const finish = (ended: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponses(received, ended).responses[0]);
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parseResponses(received, false).responses.length > 0) finish(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.write(Buffer.from(head, 'latin1'));
  });
}
