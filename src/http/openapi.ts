/**
 * The OpenAPI 3.1 description of the API, generated from the route table itself, so the two
 * cannot drift: every route that a network listener serves appears with its path and query
 * parameters, what it returns and the statuses it may answer, and the three ways to authenticate.
 */
import type { JsonValue } from '../errors.js';
import { VERSION } from '../version.js';
import type { Route } from './router.js';

type Json = Record<string, JsonValue>;

const PARAM_SCHEMAS: Record<string, Json> = {
  hex64: { type: 'string', pattern: '^[0-9A-Fa-f]{64}$', description: '64 hexadecimal digits' },
  sid: { type: 'string', pattern: '^([0-9A-Fa-f]{64}|broadcast)$', description: 'SID: 64 hexadecimal digits, or broadcast' },
  token: { type: 'string', pattern: '^[A-Za-z0-9_=-]+$', description: 'A token from an earlier listing' },
  uint: { type: 'integer', minimum: 0 },
  segment: { type: 'string' },
};

const REF = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const SCHEMAS: Json = {
  JsonResult: {
    type: 'object',
    description: 'The result object every response without special content carries.',
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
    description: 'A list: column names, then rows of values in that order. Long-polls stream rows as they arrive.',
    required: ['header', 'rows'],
    properties: {
      header: { type: 'array', items: { type: 'string' } },
      rows: { type: 'array', items: { type: 'array', items: {} } },
    },
  },
  Identity: {
    type: 'object',
    required: ['sid', 'identity'],
    properties: {
      sid: { type: 'string', pattern: '^[0-9A-F]{64}$' },
      identity: { type: 'string', pattern: '^[0-9A-F]{64}$' },
      did: { type: 'string' },
      name: { type: 'string' },
    },
  },
};

const ERROR_STATUS: Record<number, string> = {
  400: 'Malformed request, parameter or form part',
  401: 'Credentials missing or wrong',
  403: 'Peer, origin, client certificate or read-only credentials refused',
  404: 'No such path or entity',
  405: 'Wrong method for this path',
  411: 'A body is needed and its length was not given',
  414: 'Request target too long',
  415: 'Unsupported content type',
  416: 'Range not satisfiable',
  419: 'Secret not available (locked identity, bad signature, undecryptable payload)',
  422: 'Semantically invalid input',
  423: 'Store locked by another process',
  431: 'Request headers too large',
  500: 'Internal error',
};

function returns(route: Route): 'table' | 'manifest' | 'octets' | 'result' {
  if (route.path.endsWith('.json')) return 'table';
  if (route.path.endsWith('.rhm')) return 'manifest';
  if (route.path.endsWith('.bin')) return 'octets';
  return 'result';
}

function successStatuses(route: Route): number[] {
  if (route.ok) return [...route.ok];
  if (route.method === 'GET' && returns(route) !== 'result') return [200];
  return route.scope === 'write' && route.method === 'POST' ? [201] : [200];
}

function successContent(route: Route): Json {
  switch (returns(route)) {
    case 'table':
      return { 'application/json': { schema: REF('JsonTable') } };
    case 'manifest':
      return { 'rhizome/manifest; format=text+binarysig': { schema: { type: 'string', format: 'binary' } } };
    case 'octets':
      return { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
    default:
      return route.body === 'multipart' && route.path.match(/\/(insert|append)$/)
        ? { 'rhizome/manifest; format=text+binarysig': { schema: { type: 'string', format: 'binary' } } }
        : { 'application/json': { schema: REF('JsonResult') } };
  }
}

function errorStatuses(route: Route): number[] {
  const codes = [400, 401, 403, 404, 414, 431, 500];
  if (route.family.wrongMethod === 405) codes.push(405);
  if (route.body === 'multipart') codes.push(411, 415, 422, 423);
  if (route.family.name === 'rhizome') codes.push(419, 422, 423);
  if (returns(route) === 'octets') codes.push(416);
  if (route.family.name === 'meshms') codes.push(419);
  return [...new Set(codes)].sort((a, b) => a - b);
}

/** `/restful/rhizome/{bid:hex64}.rhm` → `/restful/rhizome/{bid}.rhm` and its parameters. */
function pathOf(route: Route): { path: string; params: Json[] } {
  const params: Json[] = [];
  const path = route.path.replace(/\{(\w+):(\w+)\}/g, (_m, name: string, kind: string) => {
    params.push({ name, in: 'path', required: true, schema: PARAM_SCHEMAS[kind] ?? { type: 'string' } });
    return `{${name}}`;
  });
  return { path, params };
}

function operation(route: Route): Json {
  const { params } = pathOf(route);
  const query = (route.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.doc, schema: { type: 'string' } }));
  const responses: Json = {};
  for (const status of successStatuses(route)) {
    responses[String(status)] = { description: status === 206 ? 'Part of the payload' : 'Success', content: successContent(route) };
  }
  if (returns(route) === 'octets') responses['206'] = { description: 'The requested byte range', content: successContent(route) };
  for (const status of errorStatuses(route)) {
    responses[String(status)] ??= { description: ERROR_STATUS[status] ?? 'Error', content: { 'application/json': { schema: REF('JsonResult') } } };
  }
  const op: Json = {
    operationId: `${route.method.toLowerCase()}${pathOf(route).path.replace(/[{}.]/g, '').replace(/[/_-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
    summary: route.summary,
    tags: [route.family.name],
    parameters: [...params, ...query],
    responses,
  };
  if (route.family.public) op.security = [];
  if (route.body === 'multipart') {
    op.requestBody = {
      required: true,
      content: { 'multipart/form-data': { schema: { type: 'object', additionalProperties: { type: 'string', format: 'binary' } } } },
    };
  }
  return op;
}

/** The document for `routes` (control-only routes are left out: no network listener serves them). */
export function buildOpenApi(routes: readonly Route[]): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    if (route.controlOnly) continue;
    const { path } = pathOf(route);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tendril REST API',
      version: VERSION,
      description:
        'The node API of Tendril, wire-compatible with Serval DNA\'s /restful API: keyring, Rhizome, MeshMS, MeshMB and node status. Authenticate with HTTP Basic (a configured user) or an API token (Authorization: Bearer, or X-Tendril-Token).',
    },
    servers: [{ url: '/' }],
    security: [{ basicAuth: [] }, { bearerAuth: [] }, { tokenHeader: [] }],
    components: {
      securitySchemes: {
        basicAuth: { type: 'http', scheme: 'basic', description: 'api.restful.users.NAME.password' },
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token from `tendril web generate-token`' },
        tokenHeader: { type: 'apiKey', in: 'header', name: 'X-Tendril-Token', description: 'A token from `tendril web generate-token`' },
      },
      schemas: SCHEMAS,
    },
    paths,
  };
}

/** The OpenAPI path and method of a route, for tests that check every route is described. */
export function openApiKey(route: Route): { path: string; method: string } {
  return { path: pathOf(route).path, method: route.method.toLowerCase() };
}
