/**
 * Test support for Tendril sync: real nodes in their own processes, each with its REST API on one
 * loopback port (upstream mode) and node-to-node sync on another (mesh mode), tokens made on the
 * node that is dialled, peers added through the configuration file the running node watches, and
 * waits that end as soon as what is awaited holds (with a generous bound).
 */
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { updateConfigFile } from '../../src/config/file.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { spawnNode, type ChildNode } from './child-node.js';
import { unixRequest } from './control.js';
import { makeInstance, request, type Reply, type RequestOptions, type TestNode } from './node.js';

export const SERVERS = 'web server --mode=upstream --port=0; web server --mode=mesh --bind=127.0.0.1 --port=0';

export interface SyncNode {
  readonly name: string;
  readonly paths: InstancePaths;
  child: ChildNode;
  /** REST API port (upstream, Basic harry:potter). */
  apiPort: number;
  /** Sync URL (mesh mode). */
  meshUrl: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** The subset of TestNode the Rhizome and MeshMS helpers use. */
  readonly api: TestNode;
  /** Makes an API token on this node (read-only if asked). */
  token(readOnly?: boolean): Promise<string>;
  /** Configures `other` as a peer of this node (this node dials it). */
  addPeer(name: string, other: SyncNode, options?: { token?: string; url?: string }): Promise<void>;
  removePeer(name: string): void;
  peers(): Promise<PeerRow[]>;
  /** Stops (SIGTERM) and starts again in the same instance. */
  restart(): Promise<void>;
  /** SIGKILL. */
  kill(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  /** What the node logged, and wrote to stderr. */
  log(): string;
}

export interface PeerRow {
  address: string;
  direction: string;
  node: string | null;
  state: string;
  bundles_in: number;
  bundles_out: number;
  bytes_in: number;
  bytes_out: number;
  wire_bytes_in: number;
  wire_bytes_out: number;
  lag_bundles: number;
  rejected: number;
  sessions: number;
  last_session_messages: number | null;
  last_error: string | null;
}

export function tableObjects<T>(r: Reply): T[] {
  const t = r.json<{ header: string[]; rows: unknown[][] }>();
  return t.rows.map((row) => Object.fromEntries(t.header.map((h, i) => [h, row[i]])) as T);
}

interface StateFile {
  urls: string[];
}

/**
 * `host`: run the node under a command (`ip netns exec NS`, test/helpers/netns.ts) with these web
 * servers; the test then reaches its API through the control socket, which no namespace hides.
 */
export interface SyncNodeHost {
  readonly wrap: readonly string[];
  readonly servers: string;
}

export async function startSyncNode(name: string, config: Record<string, string> = {}, env: Record<string, string> = {}, host?: SyncNodeHost): Promise<SyncNode> {
  const paths = makeInstance({ 'log.level': 'info', ...config });
  let stdoutFd: number | undefined;
  const node: SyncNode = {
    name,
    paths,
    child: undefined as unknown as ChildNode,
    apiPort: 0,
    meshUrl: '',
    request: (method, path, options) =>
      host === undefined ? request(node.apiPort, method, path, options) : unixRequest(paths.controlSocket, method, path, { headers: options?.headers, body: options?.body }),
    api: undefined as unknown as TestNode,
    async token(readOnly = false) {
      const r = await unixRequest(paths.controlSocket, 'POST', `/control/tokens?name=${name}-peer${readOnly ? '&read_only=1' : ''}`);
      if (r.status !== 201) throw new Error(`token: ${r.status} ${r.text}`);
      return r.json<{ token: string }>().token;
    },
    async addPeer(peerName, other, options = {}) {
      const token = options.token ?? (await other.token());
      updateConfigFile(paths.configFile, `sync.peer.${peerName}.token`, token);
      updateConfigFile(paths.configFile, `sync.peer.${peerName}.url`, options.url ?? other.meshUrl);
    },
    removePeer(peerName) {
      for (const key of ['url', 'token']) updateConfigFile(paths.configFile, `sync.peer.${peerName}.${key}`, undefined);
    },
    async peers() {
      const r = await node.request('GET', '/restful/sync/peers.json');
      if (r.status !== 200) throw new Error(`peers.json: ${r.status} ${r.text}`);
      return tableObjects<PeerRow>(r);
    },
    async start() {
      // The node's log, kept in its instance for a failing test to show.
      stdoutFd = openSync(join(paths.root, 'node.log'), 'a');
      try {
        node.child = await spawnNode(paths, { args: ['--commands', host?.servers ?? SERVERS], env, stdout: stdoutFd, wrap: host?.wrap });
      } finally {
        closeSync(stdoutFd);
      }
      const state = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as StateFile;
      node.apiPort = Number(new URL(state.urls[0]!).port);
      node.meshUrl = state.urls[1]!;
    },
    async restart() {
      await node.child.stop();
      await node.start();
    },
    async kill() {
      node.child.child.kill('SIGKILL');
      await node.child.exited;
    },
    async destroy() {
      await node.child.stop();
      if (process.env.TENDRIL_KEEP_TEST_NODES === undefined) rmSync(paths.root, { recursive: true, force: true });
    },
    log: () => {
      try {
        return readFileSync(join(paths.root, 'node.log'), 'utf8') + node.child.stderr();
      } catch {
        return '';
      }
    },
  };
  Object.defineProperty(node, 'api', {
    get: (): TestNode => ({ request: (m: string, p: string, o?: RequestOptions) => node.request(m, p, o), port: node.apiPort, paths }) as unknown as TestNode,
  });
  await node.start();
  return node;
}

/** Polls `check` (a few requests a second) until it returns a value, or fails after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface BundleRow {
  id: string;
  version: number;
  filesize: number;
  filehash: string | null;
  service: string;
  name: string | null;
}

export async function bundles(node: SyncNode): Promise<BundleRow[]> {
  const r = await node.request('GET', '/restful/rhizome/bundlelist.json');
  if (r.status !== 200) throw new Error(`bundlelist: ${r.status}`);
  return tableObjects<BundleRow>(r);
}

/** id → version of every bundle a node holds. */
export async function bundleVersions(node: SyncNode): Promise<Map<string, number>> {
  return new Map((await bundles(node)).map((b) => [b.id, b.version]));
}

/** Waits until every node holds exactly the same ids and versions; returns that set. */
export async function converged(nodes: readonly SyncNode[], ms = 60_000): Promise<Map<string, number>> {
  return eventually(
    `${nodes.map((n) => n.name).join(', ')} converge`,
    async () => {
      const sets = await Promise.all(nodes.map(bundleVersions));
      const first = JSON.stringify([...sets[0]!].sort());
      return sets.every((s) => JSON.stringify([...s].sort()) === first) ? sets[0] : undefined;
    },
    ms,
  );
}

export type { IncomingMessage };
