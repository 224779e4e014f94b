/**
 * The typed configuration object. It is built once from the flat key/value entries, validated as a
 * whole, deep-frozen, and passed to whatever needs it; nothing else reads the config file.
 */
import { fail } from '../errors.js';
import type { LogLevel } from '../log.js';
import { findKeySpec, KEYS, MAX_USERS } from './schema.js';
import { parseBoolean, parseInterval, parsePort, parseScaled } from './values.js';

export interface Config {
  readonly api: {
    readonly restful: {
      readonly authorization: 'basic' | 'noauth';
      /** User name → password, for HTTP Basic. */
      readonly users: Readonly<Record<string, string>>;
      readonly newsinceTimeoutMs: number;
      /** Connection and long-poll limits (src/http/admission.ts). */
      readonly limits: {
        readonly connections: number;
        readonly connectionsPerClient: number;
        readonly longPolls: number;
        readonly longPollsPerClient: number;
      };
    };
  };
  readonly rhizome: {
    readonly enable: boolean;
    readonly httpEnable: boolean;
    readonly port: number;
    /** undefined = unlimited. */
    readonly databaseSize: bigint | undefined;
    readonly minFreeSpace: bigint;
    readonly maxBlobSize: number;
    readonly reliableClock: boolean;
    readonly store: {
      readonly backend: 'sqlite' | 'postgres';
      /** rhizome.store.url: the postgres backend's database (never with a password). */
      readonly url: string | undefined;
    };
    /** rhizome.direct.peer.0 … .9, in that order (the ones set). */
    readonly directPeers: readonly string[];
  };
  readonly web: {
    /** The `web.commands` text (parsed by src/web/spec.ts when the node starts), if set. */
    readonly commands: string | undefined;
  };
  readonly sync: {
    /** The configured peers, by NAME of `sync.peer.NAME.*`. */
    readonly peers: readonly SyncPeerConfig[];
    readonly repairIntervalMs: number;
    /** Announce and find sync peers on the local network (mDNS). */
    readonly discovery: boolean;
  };
  readonly log: { readonly level: LogLevel };
  readonly metrics: { readonly enable: boolean };
}

export interface SyncPeerConfig {
  readonly name: string;
  /** Undefined for a peer known by its node id alone, dialled where discovery finds it. */
  readonly url?: string;
  /** Lower-case hex. */
  readonly node?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * `sync.peer.NAME.*` entries, grouped by NAME. A peer is one once it has a url or a node id: the other
 * keys may be set first (one `config set` at a time), and are ignored until then.
 */
function syncPeers(entries: ConfigEntries): SyncPeerConfig[] {
  const byName = new Map<string, Record<string, string>>();
  for (const [key, value] of entries) {
    const m = /^sync\.peer\.([^.]+)\.([a-z_]+)$/.exec(key);
    if (!m) continue;
    const fields = byName.get(m[1]!) ?? {};
    fields[m[2]!] = value;
    byName.set(m[1]!, fields);
  }
  return [...byName]
    .filter(([, f]) => f.url !== undefined || f.node !== undefined)
    .map(([name, f]) => ({ name, url: f.url, node: f.node?.toLowerCase(), token: f.token, tokenFile: f.token_file, ca: f.ca, cert: f.cert, key: f.key }));
}

export type ConfigEntries = ReadonlyMap<string, string>;

/** Throws CONFIG_UNKNOWN_KEY or CONFIG_INVALID_VALUE (naming the key) for one entry. */
export function validateEntry(key: string, value: string): void {
  const spec = findKeySpec(key);
  if (!spec) fail('CONFIG_UNKNOWN_KEY', { arg: key });
  try {
    spec.validate(value);
  } catch (err) {
    fail('CONFIG_INVALID_VALUE', { arg: `${key}: ${(err as Error).message}` });
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/** Validates every entry and builds the frozen Config, defaults filled in. */
export function buildConfig(entries: ConfigEntries): Config {
  for (const [key, value] of entries) validateEntry(key, value);
  const get = (key: string): string => {
    const value = entries.get(key) ?? KEYS.find((k) => k.key === key)?.default;
    if (value === undefined) throw new Error(`no default for ${key}`);
    return value;
  };

  const users: Record<string, string> = {};
  for (const [key, value] of entries) {
    const m = /^api\.restful\.users\.([^.]+)\.password$/.exec(key);
    if (m) users[m[1]!] = value;
  }
  if (Object.keys(users).length > MAX_USERS) {
    fail('CONFIG_INVALID_VALUE', { arg: `api.restful.users: at most ${MAX_USERS} users` });
  }

  const databaseSize = entries.get('rhizome.database_size');
  const backend = get('rhizome.store.backend').trim() === 'postgres' ? 'postgres' : 'sqlite';
  const storeUrl = entries.get('rhizome.store.url')?.trim();
  if (backend === 'postgres' && storeUrl === undefined) {
    fail('CONFIG_INVALID_VALUE', { arg: 'rhizome.store.url: the postgres backend needs a database URL' });
  }
  return deepFreeze<Config>({
    api: {
      restful: {
        authorization: get('api.restful.authorization').trim().toLowerCase() === 'noauth' ? 'noauth' : 'basic',
        users,
        newsinceTimeoutMs: parseInterval(get('api.restful.newsince_timeout')),
        limits: {
          connections: Number(get('api.restful.max_connections')),
          connectionsPerClient: Number(get('api.restful.max_connections_per_client')),
          longPolls: Number(get('api.restful.max_long_polls')),
          longPollsPerClient: Number(get('api.restful.max_long_polls_per_client')),
        },
      },
    },
    rhizome: {
      enable: parseBoolean(get('rhizome.enable')),
      httpEnable: parseBoolean(get('rhizome.http.enable')),
      port: parsePort(get('rhizome.http.port')),
      databaseSize: databaseSize === undefined ? undefined : parseScaled(databaseSize),
      minFreeSpace: parseScaled(get('rhizome.min_free_space')),
      maxBlobSize: Number(parseScaled(get('rhizome.max_blob_size'))),
      reliableClock: parseBoolean(get('rhizome.reliable_clock')),
      store: { backend, url: storeUrl },
      directPeers: Array.from({ length: 10 }, (_, n) => entries.get(`rhizome.direct.peer.${n}`)).filter((p) => p !== undefined),
    },
    web: { commands: entries.get('web.commands') },
    sync: { peers: syncPeers(entries), repairIntervalMs: parseInterval(get('sync.repair_interval')), discovery: parseBoolean(get('sync.discovery.enable')) },
    log: { level: get('log.level').trim().toLowerCase() as LogLevel },
    metrics: { enable: parseBoolean(get('metrics.enable')) },
  });
}
