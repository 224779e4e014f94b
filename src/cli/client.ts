/**
 * How CLI commands reach a node: HTTP over the instance's owner-only control socket. If no node is
 * running, the command starts one for its own duration, without a TCP listener, and talks to it
 * the same way — so the CLI and REST clients always get the same behaviour from the same code.
 */
import { existsSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { buildConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { fail } from '../errors.js';
import { encodeMultipart } from '../http/multipart.js';
import { silentLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { startNode } from '../node/node.js';
import { runningPid } from '../node/pid-lock.js';

export interface Reply {
  readonly status: number;
  readonly reason: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly query?: ReadonlyArray<readonly [string, string | undefined]>;
  readonly headers?: Readonly<Record<string, string | number>>;
  /** A body: bytes, or a stream (sent chunked unless Content-Length is given in headers). */
  readonly body?: Buffer | Readable;
}

export interface NodeClient {
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
}

/** A MeshMS or MeshMB `sendmessage` request: the text as its one `message` part. */
export function messageForm(text: string): RequestOptions {
  const boundary = `tendril-${Date.now().toString(36)}`;
  const body = encodeMultipart([{ name: 'message', contentType: 'text/plain; charset=utf-8', body: text }], boundary);
  return { headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length }, body };
}

function queryString(query: RequestOptions['query']): string {
  const pairs = (query ?? []).filter((p): p is readonly [string, string] => p[1] !== undefined);
  if (pairs.length === 0) return '';
  return `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

export function socketClient(socketPath: string): NodeClient {
  return {
    request(method, path, options = {}) {
      return new Promise((resolve, reject) => {
        const req = httpRequest(
          { socketPath, method, path: path + queryString(options.query), headers: options.headers },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                reason: res.statusMessage ?? '',
                headers: res.headers,
                body: Buffer.concat(chunks),
              }),
            );
          },
        );
        req.on('error', reject);
        const body = options.body;
        if (body === undefined) req.end();
        else if (Buffer.isBuffer(body)) req.end(body);
        else body.pipe(req);
      });
    },
  };
}

/**
 * Runs `fn` against the instance's node: the running one, or one started just for this command.
 */
export async function withNode<T>(paths: InstancePaths, fn: (client: NodeClient) => Promise<T>): Promise<T> {
  if (runningPid(paths.pidFile) !== undefined && existsSync(paths.controlSocket)) {
    return fn(socketClient(paths.controlSocket));
  }
  const config = buildConfig(readConfigFile(paths.configFile));
  const node = await startNode({ paths, config: () => config, log: silentLogger(), tcp: false });
  try {
    return await fn(socketClient(paths.controlSocket));
  } finally {
    await node.stop();
  }
}

/** True when a node (not a one-shot command) is serving this instance. */
export function nodeIsRunning(paths: InstancePaths): boolean {
  return runningPid(paths.pidFile) !== undefined;
}

/** The JSON body of a reply; any other status fails with the server's reason phrase. */
export function expectJson(reply: Reply, ok: readonly number[]): Record<string, unknown> {
  if (!ok.includes(reply.status)) fail('USAGE', { arg: `${reply.reason} (HTTP ${reply.status})` });
  return JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>;
}

/** The rows of a JSON table reply. */
export function tableRows(reply: Reply): unknown[][] {
  const table = expectJson(reply, [200]) as { header: string[]; rows: unknown[][] };
  return table.rows;
}
