/**
 * Test support: a real node on a loopback port in a temporary instance directory, and clients
 * that speak HTTP to it as any client would (node:http, or raw bytes over a socket).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildConfig, type Config } from '../../src/config/config.js';
import { formatConfigText } from '../../src/config/file.js';
import { TEST_PIN_KEY_PARAMS, type PinKeyParams } from '../../src/crypto/pin-key.js';
import type { Logger } from '../../src/log.js';
import { instancePaths, type InstancePaths } from '../../src/node/instance.js';
import { startNode, type RunningNode } from '../../src/node/node.js';
import { DEFAULT_THROTTLE, type ThrottleOptions } from '../../src/services/guard/throttle.js';
import { startDedicatedServer, type RunningWebServer } from '../../src/web/dedicated.js';
import type { ServerSpec } from '../../src/web/spec.js';
import { rawExchangeAt } from './control.js';

export const HARRY = 'Basic ' + Buffer.from('harry:potter').toString('base64');
export const RON = 'Basic ' + Buffer.from('ron:weasley').toString('base64');

export const TEST_USERS: Record<string, string> = {
  'api.restful.users.harry.password': 'potter',
  'api.restful.users.ron.password': 'weasley',
  'api.restful.users.hermione.password': 'grainger',
};

export interface Reply {
  readonly status: number;
  readonly reason: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * Which web server the tests talk to: the node's own (`embedded`, the default), or a dedicated web
 * server in upstream mode in front of it (`TENDRIL_TEST_FRONT=dedicated`), started in this process
 * beside the node. scripts/test.sh runs the API suite both ways, so both are proven to serve the
 * same API.
 */
export const TEST_FRONT: 'embedded' | 'dedicated' = process.env.TENDRIL_TEST_FRONT === 'dedicated' ? 'dedicated' : 'embedded';

export interface TestNode {
  readonly node: RunningNode;
  /** The port tests talk to: the node's own server, or the dedicated one in front of it. */
  readonly port: number;
  /** The node's own (embedded) web server's port, whatever TEST_FRONT says. */
  readonly nodePort: number;
  readonly front: 'embedded' | 'dedicated';
  readonly paths: InstancePaths;
  /** Every log line the node wrote, as text. */
  readonly logs: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  stop(): Promise<void>;
  /** Stops the node and deletes its instance directory. */
  destroy(): Promise<void>;
}

export interface RequestOptions {
  readonly headers?: Record<string, string | number>;
  readonly body?: Buffer | string;
  /** Authorization header; default harry:potter, null for none. */
  readonly auth?: string | null;
}

export function makeInstance(entries: Record<string, string> = {}): InstancePaths {
  const root = mkdtempSync(join(tmpdir(), 'tendril-test-'));
  const paths = instancePaths(root);
  writeFileSync(paths.configFile, formatConfigText(new Map(Object.entries({ ...TEST_USERS, ...entries }))));
  return paths;
}

function captureLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return pino({ level: 'debug', redact: { paths: ['pin', '*.pin', 'password', '*.password', 'token', '*.token'] } }, sink);
}

export async function startTestNode(
  options: {
    config?: Record<string, string>;
    paths?: InstancePaths;
    logger?: Logger;
    /** Pretend the disk has this many free bytes (startNode's freeSpaceOverride). */
    freeSpaceOverride?: number;
    /** The node's own web servers (default: one upstream server on a free port). */
    servers?: readonly ServerSpec[];
    /**
     * The delays for wrong PINs and failed authentications. By default they start only after
     * many failures: the API tests send wrong credentials on purpose, over and over, and test
     * something else; test/web/guard.test.ts tests the delays themselves.
     */
    throttle?: ThrottleOptions;
    /**
     * Serve the reference's legacy GET forms of writes (`--allow-get-writes`), on the node's
     * default server and on the dedicated one in front: for the tests of those forms.
     */
    getWrites?: boolean;
    /** The cost of PIN derivations (default: the cheapest libsodium allows). */
    pinKeyParams?: PinKeyParams;
  } = {},
): Promise<TestNode> {
  const paths = options.paths ?? makeInstance(options.config);
  const { readConfigFile } = await import('../../src/config/file.js');
  const config: Config = buildConfig(readConfigFile(paths.configFile));
  const logs: string[] = [];
  const log = options.logger ?? captureLogger(logs);
  const node = await startNode({
    paths,
    config: () => config,
    log,
    port: 0,
    pinKeyParams: options.pinKeyParams ?? TEST_PIN_KEY_PARAMS,
    freeSpaceOverride: options.freeSpaceOverride,
    servers: options.servers ?? (options.getWrites ? [{ mode: 'upstream', bind: '127.0.0.1', port: 0, allowedOrigins: [], getWrites: true }] : undefined),
    throttle: options.throttle ?? { ...DEFAULT_THROTTLE, free: 100_000 },
  });
  const nodePort = node.port!;
  let dedicated: RunningWebServer | undefined;
  if (TEST_FRONT === 'dedicated') {
    const spec = { mode: 'upstream' as const, bind: '127.0.0.1', port: 0, allowedOrigins: [], getWrites: options.getWrites };
    try {
      dedicated = await startDedicatedServer(paths, spec, log.child({ front: 'dedicated' }), 0);
    } catch (err) {
      await node.stop();
      throw err;
    }
  }
  const port = dedicated?.port ?? nodePort;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await dedicated?.stop();
    await node.stop();
  };
  return {
    node,
    port,
    nodePort,
    front: TEST_FRONT,
    paths,
    logs,
    request: (method, path, opts) => request(port, method, path, opts),
    stop,
    async destroy() {
      await stop();
      rmSync(paths.root, { recursive: true, force: true });
    },
  };
}

export function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string | number> = { ...options.headers };
  const auth = options.auth === undefined ? HARRY : options.auth;
  if (auth !== null) headers.Authorization = auth;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => void readReply(res).then(resolve, reject));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A whole response, read to its end: what every request helper of the tests returns. */
export function readReply(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve({
        status: res.statusCode ?? 0,
        reason: res.statusMessage ?? '',
        headers: res.headers,
        body,
        text: body.toString('utf8'),
        json: <T>() => JSON.parse(body.toString('utf8')) as T,
      });
    });
  });
}

/** Sends raw bytes to 127.0.0.1:`port` and returns everything sent back until the server closes (or `ms` pass). */
export function rawExchange(port: number, bytes: Buffer | string, ms = 5000): Promise<Buffer> {
  return rawExchangeAt({ host: '127.0.0.1', port }, bytes, ms);
}

/** The status line and headers of a raw HTTP response. */
export function parseRawHead(raw: Buffer): { statusLine: string; headers: Map<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? raw.length : end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { statusLine: head[0] ?? '', headers, body: end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4) };
}
