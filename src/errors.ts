/**
 * The one error type of Tendril and its catalogue.
 *
 * Every failure a client can see has an entry here: a stable code, the HTTP status and the reason
 * phrase that goes on the status line and into `http_status_message`. Reason phrases follow the
 * Serval REST API word for word where it has one (spec §1.11.2, §2, §3, §4), because clients match
 * on them. The HTTP layer turns a TendrilError into a JSON result in exactly one place
 * (src/http/respond.ts); anything that is not a TendrilError becomes an opaque 500.
 */

/** A reason phrase, or a function that builds one from a single client-visible argument. */
type Message = string | ((arg: string) => string);

interface Entry {
  readonly status: number;
  readonly message: Message;
}

const part = (what: string) => (name: string) => `${what} "${name}" form part`;

export const CATALOGUE = {
  // Framing and protocol (spec §1.3 – §1.6)
  HTTP_BAD_REQUEST: { status: 400, message: 'Bad Request' },
  HTTP_TOO_MANY_PARAMETERS: { status: 400, message: 'Too many query parameters' },
  HTTP_BODY_NOT_ALLOWED: { status: 400, message: (m: string) => `${m} request must not have a body` },
  HTTP_MISSING_CONTENT_TYPE: { status: 400, message: 'Missing Content-Type header' },
  HTTP_MALFORMED_CONTENT_TYPE: { status: 400, message: 'Malformed Content-Type header' },
  HTTP_MISSING_BOUNDARY: { status: 400, message: 'Missing multipart boundary parameter' },
  HTTP_MALFORMED_RANGE: { status: 400, message: 'Malformed Range header' },
  HTTP_MALFORMED_AUTHORIZATION: { status: 400, message: 'Malformed Authorization header' },
  HTTP_MALFORMED_ORIGIN: { status: 400, message: 'Malformed Origin header' },
  HTTP_BAD_CONTENT_LENGTH: { status: 400, message: 'Bad content length' },
  // The request body stopped short: the client reset the connection (only the log sees this),
  // or it closed its side early or broke its chunked framing and a dedicated web server will not
  // forward what arrived.
  HTTP_INCOMPLETE_BODY: { status: 400, message: 'Incomplete request body' },
  HTTP_NOT_FOUND: { status: 404, message: 'Not Found' },
  UI_NOT_BUILT: { status: 404, message: 'Web UI not built: run npm run build' },
  HTTP_METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  HTTP_LENGTH_REQUIRED: { status: 411, message: 'Length Required' },
  HTTP_URI_TOO_LONG: { status: 414, message: 'Request-URI Too Long' },
  HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type' },
  HTTP_RANGE_NOT_SATISFIABLE: { status: 416, message: 'Requested Range Not Satisfiable' },
  HTTP_HEADERS_TOO_LARGE: { status: 431, message: 'Request Header Fields Too Large' },
  HTTP_REQUEST_TIMEOUT: { status: 408, message: 'Request Timeout' },

  // Access control (spec §1.10)
  ACCESS_NOT_LOCAL: { status: 403, message: 'Forbidden' },
  ACCESS_ORIGIN_FORBIDDEN: { status: 403, message: 'Forbidden' },
  ACCESS_UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  ACCESS_READ_ONLY: { status: 403, message: 'Forbidden: read-only credentials' },
  ACCESS_USERS_ONLY: { status: 403, message: 'Forbidden: API tokens are managed by users, not by tokens' },
  ACCESS_CLIENT_CERT_MISSING: { status: 403, message: 'Forbidden: client certificate required' },
  ACCESS_CLIENT_CERT_UNTRUSTED: { status: 403, message: 'Forbidden: client certificate not trusted' },
  // A Host header that is none of the listener's names: a page reached through DNS rebinding.
  ACCESS_HOST_FORBIDDEN: { status: 403, message: 'Forbidden: unknown host name' },
  // A browser request from another site that no allowed Origin vouches for (Fetch Metadata).
  ACCESS_CROSS_SITE: { status: 403, message: 'Forbidden: cross-site request' },
  // `pin` from credentials that may not write: unlocking would show the identity to every client.
  ACCESS_READ_ONLY_UNLOCK: { status: 403, message: 'Forbidden: read-only credentials cannot unlock identities' },
  // A legacy GET form of a write (keyring/add, SID/set, SID/remove, SID/lock) while they are off.
  ACCESS_GET_WRITE: { status: 405, message: 'Method Not Allowed: legacy GET writes are off' },
  // Too many failed authentications from this client or for this user: wait (Retry-After).
  ACCESS_TOO_MANY_FAILURES: { status: 429, message: 'Too many failed authentications' },
  // Too many wrong PINs from this client or these credentials: wait (Retry-After).
  PIN_TOO_MANY_FAILURES: { status: 429, message: 'Too many wrong PINs' },
  // More PIN attempts of one client waiting than a client may queue.
  PIN_QUEUE_FULL: { status: 429, message: 'Too many PIN attempts in progress' },

  // Admission (connections and long-polls; the limits are api.restful.max_* keys)
  LIMIT_CONNECTIONS: { status: 503, message: 'Too many connections' },
  LIMIT_CLIENT_CONNECTIONS: { status: 429, message: 'Too many connections from this client' },
  LIMIT_LONG_POLLS: { status: 503, message: 'Too many long-polls' },
  LIMIT_CLIENT_LONG_POLLS: { status: 429, message: 'Too many long-polls from this client' },
  // A browser (a request with an Origin) on a route no browser may use (Rhizome Direct).
  ACCESS_BROWSER_FORBIDDEN: { status: 403, message: 'Forbidden: not for browsers' },

  // Multipart form parts (spec §1.7, §1.8)
  FORM_MISSING_FIRST_BOUNDARY: { status: 400, message: 'Malformed multipart: missing first boundary' },
  FORM_MISSING_END_BOUNDARY: { status: 400, message: 'Malformed multipart: missing end boundary' },
  FORM_MALFORMED_PART_HEADER: { status: 400, message: 'Malformed multipart: invalid part header' },
  FORM_DUPLICATE_PART_HEADER: { status: 400, message: 'Malformed multipart: duplicate part header' },
  FORM_PART_HEADER_TOO_LARGE: { status: 400, message: 'Malformed multipart: part header too large' },
  FORM_MISSING_DISPOSITION: { status: 415, message: 'Missing Content-Disposition header' },
  FORM_UNSUPPORTED_DISPOSITION: { status: 415, message: (t: string) => `Unsupported Content-Disposition: ${t}` },
  FORM_UNSUPPORTED_PART: { status: 400, message: part('Unsupported') },
  FORM_UNSUPPORTED_PART_415: { status: 415, message: part('Unsupported') },
  FORM_DUPLICATE_PART: { status: 400, message: part('Duplicate') },
  FORM_MISSING_PART: { status: 400, message: part('Missing') },
  FORM_SPURIOUS_PART: { status: 400, message: part('Spurious') },
  FORM_INVALID_PART: { status: 400, message: part('Invalid') },
  FORM_EMPTY_PART: { status: 400, message: part('Invalid (empty)') },
  FORM_PART_OVERFLOW: { status: 400, message: part('Overflow in') },
  FORM_UNSUPPORTED_PART_TYPE: { status: 415, message: part('Unsupported Content-Type in') },
  FORM_MISSING_PART_TYPE: { status: 400, message: (t: string) => `Missing Content-Type: ${t}` },
  FORM_UNSUPPORTED_CONTENT_TYPE: { status: 415, message: (t: string) => `Unsupported Content-Type: ${t}` },
  FORM_MISSING_CHARSET: { status: 400, message: (t: string) => `Missing charset Content-Type: ${t}` },
  FORM_UNSUPPORTED_CHARSET: { status: 415, message: (t: string) => `Unsupported charset Content-Type: ${t}` },

  // Keyring (spec §2)
  KEYRING_IDENTITY_NOT_FOUND: { status: 404, message: 'Identity not found' },
  KEYRING_INVALID_DID: { status: 400, message: 'Invalid DID' },
  KEYRING_INVALID_NAME: { status: 400, message: 'Invalid Name' },
  KEYRING_CREATE_FAILED: { status: 500, message: 'Could not create identity' },
  KEYRING_STORE_FAILED: { status: 500, message: 'Could not store new identity' },
  KEYRING_ERASE_FAILED: { status: 500, message: 'Could not erase removed identity' },
  KEYRING_FILE_CORRUPT: { status: 500, message: 'Keyring file is corrupt' },
  KEYRING_DUMP_MALFORMED: { status: 400, message: (why: string) => `Malformed keyring dump: ${why}` },
  KEYRING_UNSUPPORTED_KEY: { status: 400, message: (why: string) => `Unsupported keyring entry: ${why}` },

  // Rhizome
  // A manifest that does not parse (§7.3.1): bundle status 4 INVALID. The detail goes in `cause`.
  RHIZOME_MANIFEST_INVALID: { status: 422, message: 'Invalid manifest' },
  // Another process holds the store's database locked (bundle status 9 BUSY).
  RHIZOME_BUSY: { status: 423, message: 'Database is busy' },
  // The store's files are damaged beyond what start-up recovery repairs.
  RHIZOME_STORE_CORRUPT: { status: 500, message: 'Rhizome store is corrupt' },

  // API tokens
  TOKENS_NOT_FOUND: { status: 404, message: 'Token not found' },
  TOKENS_INVALID_NAME: { status: 400, message: 'Invalid token name' },
  TOKENS_INVALID_EXPIRY: { status: 400, message: 'Invalid token expiry' },
  TOKENS_FILE_CORRUPT: { status: 500, message: 'Token file is corrupt' },
  TOKENS_STORE_FAILED: { status: 500, message: 'Could not store the token file' },

  // MeshMS (spec §4.2): each carries meshms_status_code / meshms_status_message members.
  // MYSID is not an unlocked identity (MeshMS status 2 SID_LOCKED).
  MESHMS_IDENTITY_LOCKED: { status: 419, message: 'Identity locked' },
  // A malformed ply or conversation index, or a ply that could not be written (status 3).
  MESHMS_PROTOCOL_FAULT: { status: 500, message: 'MeshMS protocol fault' },
  // An unexpected failure underneath (status -1): the reason is the default one, as the reference's.
  MESHMS_ERROR: { status: 500, message: 'Internal Server Error' },
  // A text of 4095 bytes (before its first NUL) passes the reference's form limit but its record
  // would not fit the 12-bit length of a ply record (the reference aborts, spec §10 #14).
  MESHMS_MESSAGE_TOO_LONG: { status: 400, message: 'Overflow in "message" form part' },

  // MeshMB (spec §5). The reference answers 500 "TODO, detailed response" to every failure.
  // ID is not an unlocked identity (the reference: 500); the same answer as MeshMS.
  MESHMB_IDENTITY_LOCKED: { status: 419, message: 'Identity locked' },
  // follow/ignore/block with a `sender` that is not a SID: the reference's bare 400.
  MESHMB_INVALID_SENDER: { status: 400, message: 'Bad Request' },
  // A text of 4095 bytes (before its first NUL) cannot be a ply record (the reference aborts).
  MESHMB_MESSAGE_TOO_LONG: { status: 400, message: 'Overflow in "message" form part' },
  // The store refused a feed, subscriptions or activity-journal write (details in the log).
  MESHMB_WRITE_FAILED: { status: 500, message: 'TODO, detailed response' },
  // The identity's subscriptions bundle does not parse (unknown format or damaged): it is kept.
  MESHMB_SUBSCRIPTIONS_UNREADABLE: { status: 500, message: 'TODO, detailed response' },

  // Node-level
  SERVICE_DISABLED: { status: 404, message: 'Not Found' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'Service Unavailable' },
  INTERNAL: { status: 500, message: 'Internal Server Error' },

  // Configuration and command line (never sent over HTTP, but kept in one catalogue)
  CONFIG_UNKNOWN_KEY: { status: 400, message: (key: string) => `Unknown configuration key: ${key}` },
  CONFIG_INVALID_VALUE: { status: 400, message: (why: string) => `Invalid configuration value: ${why}` },
  CONFIG_FILE_MALFORMED: { status: 400, message: (why: string) => `Malformed configuration file: ${why}` },
  INSTANCE_LOCKED: { status: 423, message: (why: string) => `Instance is in use: ${why}` },
  // Another local user could change what the node reads, or stand in for its control socket.
  INSTANCE_UNSAFE: { status: 403, message: (why: string) => `Unsafe instance directory: ${why}` },
  // A file of secrets that cannot be written owner-only (a link, someone else's file).
  SECRET_FILE_UNSAFE: { status: 400, message: (why: string) => `Refusing to write secrets: ${why}` },
  NODE_NOT_RUNNING: { status: 503, message: 'The node is not running' },
  USAGE: { status: 400, message: (why: string) => why },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof CATALOGUE;

/** A value that can appear as a member of a JSON result (rendered by src/http/json.ts). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

export interface ErrorOptions {
  /** The single argument of a parameterised message (a part name, a field). Never a secret. */
  readonly arg?: string;
  /** Replaces the catalogue message entirely (used where the spec gives a more specific reason). */
  readonly reason?: string;
  /** Extra members appended to the JSON result, in order (spec §1.11.3). */
  readonly members?: ReadonlyArray<readonly [string, JsonValue]>;
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** What went wrong inside, for the log only. */
  readonly cause?: unknown;
  /**
   * Which check refused the request and why, for the request's log line only (an operator's
   * answer to "why 401?"). Never a secret: no password, token or PIN.
   */
  readonly why?: string;
}

export class TendrilError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: string;
  readonly members: ReadonlyArray<readonly [string, JsonValue]>;
  readonly headers: Readonly<Record<string, string>>;
  readonly why: string | undefined;

  constructor(code: ErrorCode, options: ErrorOptions = {}) {
    const entry: Entry = CATALOGUE[code];
    const reason =
      options.reason ??
      (typeof entry.message === 'function' ? entry.message(options.arg ?? '') : entry.message);
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TendrilError';
    this.code = code;
    this.status = entry.status;
    this.reason = reason;
    this.members = options.members ?? [];
    this.headers = options.headers ?? {};
    this.why = options.why;
  }
}

/** Throws the catalogue error `code`. */
export function fail(code: ErrorCode, options?: ErrorOptions): never {
  throw new TendrilError(code, options);
}

/** True for a TendrilError, also across module copies (checked by name, not instanceof). */
export function isTendrilError(err: unknown): err is TendrilError {
  return err instanceof Error && err.name === 'TendrilError' && 'code' in err && 'status' in err;
}
