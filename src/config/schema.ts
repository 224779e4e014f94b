/**
 * Every configuration key Tendril knows, with its syntax, default and meaning. The keys are the
 * reference's flat dotted names where it has them (spec §1.1), so a Serval operator finds them.
 */
import { parsePeerUrl } from '../formats/direct-peer.js';
import { checkSpec, parseCommands } from '../web/spec.js';
import { parseBoolean, parseChoice, parseDatabaseUrl, parseInterval, parsePort, parseScaled, parseUint } from './values.js';

export interface KeySpec {
  /** The key, with `*` standing for a user-chosen name segment. */
  readonly key: string;
  readonly doc: string;
  /** Throws an Error saying what was expected when `text` is not a valid value. */
  readonly validate: (text: string) => void;
  readonly default?: string;
  /** Printed as `********` by `config list`. */
  readonly secret?: boolean;
  /** What a `*` segment may be (default: a user name, USER_NAME_RE). */
  readonly segment?: RegExp;
}

export const USER_NAME_RE = /^[A-Za-z0-9_.-]{1,24}$/;
export const MAX_USERS = 10;
const MAX_PASSWORD = 49;

function password(text: string): void {
  if (text.length > MAX_PASSWORD) throw new Error(`a password is at most ${MAX_PASSWORD} characters`);
  if (/[\0\r\n]/.test(text)) throw new Error('a password cannot contain NUL, CR or LF');
}

function nonEmpty(text: string): void {
  if (text.trim() === '') throw new Error('a path is needed');
}

/** A sync peer URL: http or https, a host, no credentials, query or fragment. */
export function parseSyncPeerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('expected http://host:port or https://host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('a peer URL is http:// or https://');
  if (url.username !== '' || url.password !== '') throw new Error('credentials go in sync.peer.NAME.token, not in the URL');
  if (url.search !== '' || url.hash !== '') throw new Error('a peer URL has no query or fragment');
  return url;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const KEYS: readonly KeySpec[] = [
  {
    key: 'api.restful.authorization',
    doc: 'basic: REST clients must send the credentials of a configured user; noauth: no credentials are checked.',
    validate: parseChoice(['basic', 'noauth']),
    default: 'basic',
  },
  {
    key: 'api.restful.users.*.password',
    doc: 'The password of REST user NAME (HTTP Basic). At most 10 users; NAME is 1 to 24 of A-Z a-z 0-9 _ . -',
    validate: password,
    secret: true,
  },
  {
    key: 'api.restful.newsince_timeout',
    doc: 'How long a newsince long-poll stays open, from the start of the request: seconds, or with a unit s, m, h, d, w.',
    validate: parseInterval,
    default: '60',
  },
  {
    key: 'api.restful.max_connections',
    doc: 'Most client connections the node holds at once, over all its web servers (keep it well under the file limit, ulimit -n); more are refused with 503.',
    validate: (t) => parseUint(t, 1_000_000),
    default: '4096',
  },
  {
    key: 'api.restful.max_connections_per_client',
    doc: 'Most connections (or requests in progress through a dedicated web server) one client address may have; more are refused with 429. A TLS terminator on this host is one client.',
    validate: (t) => parseUint(t, 1_000_000),
    default: '1024',
  },
  {
    key: 'api.restful.max_long_polls',
    doc: 'Most newsince long-polls open at once; more are answered 503 at once.',
    validate: (t) => parseUint(t, 1_000_000),
    default: '4096',
  },
  {
    key: 'api.restful.max_long_polls_per_client',
    doc: 'Most newsince long-polls one client address may have open; more are answered 429 at once.',
    validate: (t) => parseUint(t, 1_000_000),
    default: '1024',
  },
  {
    key: 'rhizome.enable',
    doc: 'When off, every Rhizome, MeshMS and MeshMB REST path answers 404.',
    validate: parseBoolean,
    default: '1',
  },
  {
    key: 'rhizome.http.enable',
    doc: 'When off, the Rhizome, MeshMS and MeshMB REST paths answer 404 (the keyring API stays).',
    validate: parseBoolean,
    default: '1',
  },
  {
    key: 'rhizome.http.port',
    doc: 'The REST port. If it is busy the next free port up to 100 above is used; 0 picks any free port.',
    validate: parsePort,
    default: '4110',
  },
  {
    key: 'rhizome.database_size',
    doc: 'Largest size of the Rhizome store in bytes (suffixes k=10^3, K=2^10, m, M, g, G, t, T, p, P); unset = unlimited.',
    validate: (t) => parseScaled(t),
  },
  {
    key: 'rhizome.min_free_space',
    doc: 'Disk space the Rhizome store leaves free, in bytes (scaled like database_size).',
    validate: (t) => parseScaled(t),
    default: '100M',
  },
  {
    key: 'rhizome.max_blob_size',
    doc: 'Payloads up to this size are kept inside the database; larger ones are files.',
    validate: (t) => parseScaled(t, 2n ** 32n - 1n),
    default: '128K',
  },
  {
    key: 'rhizome.store.backend',
    doc: 'Where the Rhizome store lives: sqlite (files in the instance directory) or postgres (a PostgreSQL database, rhizome.store.url, that several nodes may share together with their keyring and API tokens).',
    validate: parseChoice(['sqlite', 'postgres']),
    default: 'sqlite',
  },
  {
    key: 'rhizome.store.url',
    doc: 'The PostgreSQL database of the postgres backend: postgres://USER@HOST[:PORT]/DATABASE[?host=SOCKET_DIR&sslmode=…]. No password here: it comes from PGPASSWORD or the password file (PGPASSFILE, else ~/.pgpass), as libpq reads them.',
    validate: (t) => {
      parseDatabaseUrl(t);
    },
  },
  {
    key: 'rhizome.reliable_clock',
    doc: 'When off, MeshMS and MeshMB messages carry no TIME records.',
    validate: parseBoolean,
    default: '1',
  },
  {
    key: 'rhizome.direct.peer.*',
    doc: 'A Rhizome Direct peer (N = 0 to 9), for rhizome direct push|pull|sync without a URL: host[:port] or http://host[:port] (port 4110 by default), or https://… for a Tendril peer. Peers are synced in the order of N.',
    validate: (t) => {
      if (!parsePeerUrl(t)) throw new Error('expected host[:port], http://host[:port] or https://host[:port]');
    },
    segment: /^[0-9]$/,
  },
  {
    key: 'web.commands',
    doc: 'The web servers the node runs, as start --commands takes them: "web server --mode=upstream --port=4110; web server --mode=server --port=8443 --certfile=F --keyfile=F". Unset: one upstream server on rhizome.http.port.',
    // Checked as the node will check it at start (modes, addresses, readable certificates that
    // match their keys), so an impossible server is refused now rather than at the next start.
    validate: (t) => {
      for (const spec of parseCommands(t)) checkSpec(spec);
    },
  },
  {
    key: 'sync.peer.*.url',
    doc: 'A Tendril peer to sync with (NAME is any label, e.g. 0): http://host:port or https://host:port, with a path if the peer is served under one. `tendril sync peer add` sets it.',
    validate: parseSyncPeerUrl,
  },
  {
    key: 'sync.peer.*.token',
    doc: 'An API token of that peer (tendril web generate-token on the peer). A read-only token syncs pull-only.',
    validate: (t) => {
      if (!/^[\x21-\x7e]{1,200}$/.test(t)) throw new Error('a token is 1 to 200 printable characters');
    },
    secret: true,
  },
  {
    key: 'sync.peer.*.token_file',
    doc: 'A file whose first line is the API token of that peer (instead of sync.peer.NAME.token).',
    validate: nonEmpty,
  },
  {
    key: 'sync.peer.*.ca',
    doc: 'HTTPS peers: a PEM file of the CA (or the certificate itself) to trust for that peer; default: the system CAs.',
    validate: nonEmpty,
  },
  {
    key: 'sync.peer.*.cert',
    doc: 'HTTPS peers in mtls mode: the PEM client certificate to present to that peer.',
    validate: nonEmpty,
  },
  {
    key: 'sync.peer.*.key',
    doc: 'The PEM private key of sync.peer.NAME.cert.',
    validate: nonEmpty,
  },
  {
    key: 'sync.peer.*.node',
    doc: 'The node id of that peer (32 hex digits, as `sync status` shows it). Without a url, the peer is dialled where it is found on the local network (sync.discovery.enable); with one, a link to a node with another id is refused.',
    validate: (t) => {
      if (!/^[0-9a-fA-F]{32}$/.test(t)) throw new Error('a node id is 32 hex digits');
    },
  },
  {
    key: 'sync.discovery.enable',
    doc: 'When on, the node announces its web servers that serve sync (not those on loopback) on the local network by multicast DNS (DNS-SD _tendril-sync._tcp) and finds other nodes there. A found node is dialled only if a sync.peer names its node id, with that peer\'s credentials; the others are listed by sync status.',
    validate: parseBoolean,
    default: '0',
  },
  {
    key: 'sync.repair_interval',
    doc: 'How often a link this node opened reconciles again, to repair anything live propagation missed (seconds, or with a unit s, m, h).',
    validate: parseInterval,
    default: '10m',
  },
  {
    key: 'metrics.enable',
    doc: 'When on, the node keeps Prometheus metrics, served at /metrics behind the API credentials by every web server that serves them (web server --serve: api,metrics by default; --serve=metrics alone for a listener of their own). Applies at the next start.',
    validate: parseBoolean,
    default: '1',
  },
  {
    key: 'log.level',
    doc: 'Least severe log level written: trace, debug, info, warn, error, fatal or silent.',
    validate: parseChoice(LOG_LEVELS),
    default: 'info',
  },
];

/** The spec of `key`, matching `*` segments against user names. */
export function findKeySpec(key: string): KeySpec | undefined {
  const segments = key.split('.');
  return KEYS.find((spec) => {
    const pattern = spec.key.split('.');
    return (
      pattern.length === segments.length &&
      pattern.every((p, i) => (p === '*' ? (spec.segment ?? USER_NAME_RE).test(segments[i]!) : p === segments[i]))
    );
  });
}
