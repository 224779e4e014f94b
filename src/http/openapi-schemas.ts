/**
 * The fixed parts of the OpenAPI document (src/http/openapi.ts): schemas of the bodies Tendril
 * answers with, of path parameter kinds, of the multipart forms, and what each error status means.
 * The per-route parts are generated from the route table.
 */
import type { JsonValue } from '../errors.js';

export type Json = Record<string, JsonValue>;

export const REF = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** One schema per parameter kind of src/http/router.ts (`ignored` never reaches the document). */
export const PARAM_SCHEMAS: Record<string, Json> = {
  hex64: { type: 'string', pattern: '^[0-9A-Fa-f]{64}$', description: '64 hexadecimal digits' },
  sid: { type: 'string', pattern: '^([0-9A-Fa-f]{64}|broadcast)$', description: 'SID: 64 hexadecimal digits, or broadcast' },
  token: { type: 'string', pattern: '^[A-Za-z0-9_=-]+$', description: 'A token from an earlier listing' },
  uint: { type: 'integer', minimum: 0, description: 'A byte offset' },
  segment: { type: 'string' },
};

const HEX64 = { type: 'string', pattern: '^[0-9A-F]{64}$' } as const;
const nullable = (type: string): Json => ({ type: [type, 'null'] });

export const SCHEMAS: Json = {
  JsonResult: {
    type: 'object',
    description: 'The result object of every response that has no other content (errors included).',
    required: ['http_status_code', 'http_status_message'],
    properties: {
      http_status_code: { type: 'integer' },
      http_status_message: { type: 'string' },
      identity: REF('Identity'),
      rhizome_bundle_status_code: { type: 'integer', minimum: -1, maximum: 10 },
      rhizome_bundle_status_message: { type: 'string' },
      rhizome_payload_status_code: { type: 'integer', minimum: -1, maximum: 8 },
      rhizome_payload_status_message: { type: 'string' },
      meshms_status_code: { type: 'integer' },
      meshms_status_message: { type: 'string' },
    },
  },
  JsonTable: {
    type: 'object',
    description:
      'A list: column names, then rows of values in that order. Long-polls (newsince, activity) stream rows as they ' +
      'arrive until api.restful.newsince_timeout. Some lists carry members before "header" (MeshMS read_offset, ' +
      'latest_ack_offset; the MeshMB feed name).',
    required: ['header', 'rows'],
    properties: {
      header: { type: 'array', items: { type: 'string' } },
      rows: { type: 'array', items: { type: 'array', items: {} } },
    },
  },
  Identity: {
    type: 'object',
    required: ['sid', 'identity'],
    properties: { sid: HEX64, identity: HEX64, did: { type: 'string' }, name: { type: 'string' } },
  },
  SystemStatus: {
    type: 'object',
    description: "Host facts as RaspAP's /system reports them, computed natively, and the node's own. Never a secret.",
    required: ['http_status_code', 'http_status_message', 'system', 'node'],
    properties: {
      http_status_code: { type: 'integer', const: 200 },
      http_status_message: { type: 'string' },
      system: {
        type: 'object',
        required: [
          'hostname', 'uptime', 'uptime_seconds', 'systime', 'used_memory_percent', 'used_disk_percent', 'processor_count',
          'load_average_1min', 'system_load_percent', 'temperature_celsius', 'operating_system', 'kernel_version',
        ],
        properties: {
          hostname: { type: 'string' },
          uptime: { type: 'string', description: 'Like `uptime -p`: "up 3 days, 2 hours, 5 minutes"' },
          uptime_seconds: { type: 'integer', minimum: 0 },
          systime: { type: 'string', format: 'date-time' },
          used_memory_percent: { type: 'number', minimum: 0, maximum: 100 },
          used_disk_percent: { ...nullable('number'), description: "Of the filesystem holding the node's store" },
          processor_count: { type: 'integer', minimum: 1 },
          load_average_1min: { type: 'number', minimum: 0 },
          system_load_percent: { type: 'number', minimum: 0, description: '1-minute load × 100 / processor count' },
          temperature_celsius: { ...nullable('number'), description: 'First thermal zone; null where there is none' },
          operating_system: { type: 'string' },
          kernel_version: { type: 'string' },
        },
      },
      node: {
        type: 'object',
        required: ['version', 'instance', 'started_at', 'bundles', 'store_bytes', 'unlocked_identities', 'web_servers', 'event_loop_delay', 'security'],
        properties: {
          version: { type: 'string' },
          instance: { type: 'string', description: 'The instance directory' },
          started_at: { type: 'string', format: 'date-time' },
          bundles: { type: 'integer', minimum: 0 },
          store_bytes: { type: 'integer', minimum: 0 },
          unlocked_identities: { type: 'integer', minimum: 0 },
          web_servers: {
            type: 'array',
            description: "The node's embedded servers and the dedicated ones attached to it now",
            items: {
              type: 'object',
              required: ['mode', 'url', 'dedicated', 'serve'],
              properties: {
                mode: { type: 'string', enum: ['dev', 'server', 'upstream', 'mtls', 'mesh'] },
                url: { type: 'string' },
                dedicated: { type: 'boolean' },
                serve: { type: 'array', items: { type: 'string', enum: ['api', 'metrics', 'sync', 'direct'] }, description: 'What the server serves (--serve)' },
              },
            },
          },
          event_loop_delay: {
            type: 'object',
            description: 'How late the event loop ran its timers, in ms, over the last complete window (or since start until one completes)',
            required: ['window_seconds', 'mean_ms', 'p50_ms', 'p99_ms', 'max_ms'],
            properties: {
              window_seconds: { type: 'number', minimum: 0 },
              mean_ms: { type: 'number', minimum: 0 },
              p50_ms: { type: 'number', minimum: 0 },
              p99_ms: { type: 'number', minimum: 0 },
              max_ms: { type: 'number', minimum: 0 },
            },
          },
          sync: {
            type: 'object',
            description: 'Tendril sync since the node started: bundles and payload bytes each way, reconciliation sessions, bundles refused for failing verification',
            required: ['peers_configured', 'links_up', 'bundles_in', 'bundles_out', 'bytes_in', 'bytes_out', 'sessions', 'rejected'],
            properties: Object.fromEntries(
              ['peers_configured', 'links_up', 'bundles_in', 'bundles_out', 'bytes_in', 'bytes_out', 'sessions', 'rejected'].map((k) => [k, { type: 'integer', minimum: 0 }]),
            ),
          },
          security: {
            type: 'object',
            description: 'Refusals since the node started, and what it holds now (docs/security.md)',
            required: [
              'wrong_pins', 'pin_attempts_refused', 'pin_derivations_waiting', 'failed_authentications', 'authentications_refused',
              'waiting_clients', 'connections', 'connections_refused', 'clients', 'long_polls', 'long_polls_refused',
            ],
            properties: {
              wrong_pins: { type: 'integer', minimum: 0, description: 'PINs that opened nothing' },
              pin_attempts_refused: { type: 'integer', minimum: 0, description: 'PIN attempts answered 429' },
              pin_derivations_waiting: { type: 'integer', minimum: 0, description: 'PIN derivations waiting for their turn' },
              failed_authentications: { type: 'integer', minimum: 0, description: 'Credentials refused with 401' },
              authentications_refused: { type: 'integer', minimum: 0, description: 'Authentications answered 429' },
              waiting_clients: { type: 'integer', minimum: 0, description: 'Clients, users and credentials waiting out failures now' },
              connections: { type: 'integer', minimum: 0, description: 'Client connections open now' },
              connections_refused: { type: 'integer', minimum: 0 },
              clients: { type: 'integer', minimum: 0, description: 'Client addresses with connections open now' },
              long_polls: { type: 'integer', minimum: 0, description: 'Long-polls open now' },
              long_polls_refused: { type: 'integer', minimum: 0 },
            },
          },
        },
      },
    },
  },
  OpenApiDocument: { type: 'object', description: 'This document', required: ['openapi', 'info', 'paths'] },
};

/** Serval-Rhizome-* response headers (spec §3.2), on the Rhizome routes that name a bundle. */
export const RHIZOME_HEADERS: Json = Object.fromEntries(
  [
    ['Serval-Rhizome-Result-Bundle-Status-Code', 'integer'],
    ['Serval-Rhizome-Result-Bundle-Status-Message', 'string'],
    ['Serval-Rhizome-Result-Payload-Status-Code', 'integer'],
    ['Serval-Rhizome-Result-Payload-Status-Message', 'string'],
    ['Serval-Rhizome-Bundle-Id', 'string'],
    ['Serval-Rhizome-Bundle-Version', 'integer'],
    ['Serval-Rhizome-Bundle-Filesize', 'integer'],
    ['Serval-Rhizome-Bundle-Filehash', 'string'],
    ['Serval-Rhizome-Bundle-Service', 'string'],
    ['Serval-Rhizome-Bundle-Name', 'string'],
    ['Serval-Rhizome-Bundle-Author', 'string'],
    ['Serval-Rhizome-Bundle-Secret', 'string'],
  ].map(([name, type]) => [name!, { schema: { type: type! } }]),
);

const BINARY = { type: 'string', format: 'binary' } as const;
const HEX_PART = { type: 'string', pattern: '^[0-9A-Fa-f]{64}$' } as const;

/** The multipart form of each multipart route, by the last segment of its path. */
export const FORMS: Record<string, { schema: Json; encoding: Json }> = {
  insert: {
    schema: {
      type: 'object',
      required: ['manifest', 'payload'],
      properties: {
        'bundle-author': { ...HEX_PART, description: 'SID of the author (an unlocked identity)' },
        'bundle-id': { ...HEX_PART, description: 'Bundle ID, to update an existing bundle' },
        'bundle-secret': { type: 'string', description: 'Bundle secret, hex' },
        manifest: { ...BINARY, description: 'A manifest, unsigned or partial (may be empty)' },
        payload: BINARY,
      },
    },
    encoding: {
      'bundle-author': { contentType: 'serval/sid; format=hex' },
      'bundle-id': { contentType: 'rhizome/bid; format=hex' },
      'bundle-secret': { contentType: 'rhizome/bundlesecret; format=hex' },
      manifest: { contentType: 'rhizome/manifest; format=text+binarysig' },
      payload: { contentType: 'application/octet-stream' },
    },
  },
  import: {
    schema: {
      type: 'object',
      required: ['manifest'],
      properties: { manifest: { ...BINARY, description: 'A signed manifest' }, payload: BINARY },
    },
    encoding: { manifest: { contentType: 'rhizome/manifest; format=text+binarysig' }, payload: { contentType: 'application/octet-stream' } },
  },
  sendmessage: {
    schema: {
      type: 'object',
      required: ['message'],
      properties: { message: { type: 'string', description: 'The text, at most 4094 bytes of UTF-8' } },
    },
    encoding: { message: { contentType: 'text/plain; charset=utf-8' } },
  },
};
FORMS.append = FORMS.insert!;
FORMS['direct-enquiry'] = {
  schema: {
    type: 'object',
    required: ['data'],
    properties: { data: { ...BINARY, description: '10-byte range, then 32-byte BARs (at most 65,536 bytes)' } },
  },
  encoding: { data: { contentType: 'application/octet-stream' } },
};
FORMS['direct-import'] = {
  schema: {
    type: 'object',
    required: ['manifest', 'data'],
    properties: { manifest: { ...BINARY, description: 'A signed manifest' }, data: { ...BINARY, description: 'The payload (empty for none)' } },
  },
  encoding: { manifest: { contentType: 'application/octet-stream' }, data: { contentType: 'application/octet-stream' } },
};

export const ERROR_STATUS: Record<number, string> = {
  400: 'Malformed request, parameter, Authorization header or form part',
  401: 'Credentials missing or wrong',
  403: 'Host name, peer, origin, cross-site request or client certificate refused; read-only credentials on a route that writes or with a PIN',
  404: 'No such path or entity (a locked identity is not found), or Rhizome disabled',
  405: 'Wrong method for this path; a legacy GET write while they are off (--allow-get-writes)',
  408: 'The request body did not arrive in time',
  411: 'A body is needed and its length was not given',
  414: 'Request target too long',
  415: 'Unsupported content type of the body or of a form part',
  416: 'Range not satisfiable',
  419: 'Secret not available: identity locked, manifest signature or bundle secret wrong, bundle read-only',
  422: 'Invalid manifest, or a payload that contradicts it',
  423: 'Store busy or locked',
  429: 'Too many failed authentications or wrong PINs (see Retry-After), or too many connections or long-polls from this client',
  431: 'Request headers too large',
  500: 'Internal error (details only in the log); Rhizome Direct: an enquiry it cannot answer, a malformed hash',
  501: 'Several byte ranges asked for at once',
  503: 'A dedicated web server whose node is not reachable; too many connections or long-polls in all',
};
