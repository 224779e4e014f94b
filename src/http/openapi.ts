/**
 * The OpenAPI 3.1 description of the API, generated from the route table itself, so the two
 * cannot drift: every route that a network listener serves appears with its path, query and
 * header parameters, its request form, what it returns with which statuses, and the three ways to
 * authenticate. test/web/openapi.test.ts checks the document's structure against the table.
 */
import { VERSION } from '../version.js';
import { ERROR_STATUS, FORMS, PARAM_SCHEMAS, REF, RHIZOME_HEADERS, SCHEMAS, type Json } from './openapi-schemas.js';
import type { Route } from './router.js';

export type { Json } from './openapi-schemas.js';

/** What a route's successful response carries. */
type Body = 'table' | 'manifest' | 'octets' | 'stored' | 'result' | 'system' | 'openapi' | 'html' | 'asset' | 'metrics' | 'frames' | 'page';

function bodyOf(route: Route): Body {
  if (route.family.rawBody !== undefined) return 'frames';
  // Rhizome Direct answers bytes, or servald's HTML status page for an import.
  if (route.family.resultFormat === 'html') return route.path.endsWith('/import') ? 'page' : 'octets';
  switch (route.family.name) {
    case 'docs':
    case 'ui':
      return route.path.includes('{') ? 'asset' : 'html';
    case 'openapi':
      return 'openapi';
    case 'system':
      return 'system';
    case 'tokens':
      return route.method === 'GET' ? 'table' : 'result';
    case 'metrics':
      return 'metrics';
  }
  if (route.path.endsWith('.json')) return 'table';
  if (route.path.endsWith('.rhm')) return 'manifest';
  if (route.path.endsWith('.bin')) return 'octets';
  // Insert and append answer with the signed manifest, or a JSON result when nothing was stored.
  if (/\/(insert|append)$/.test(route.path)) return 'stored';
  return 'result';
}

/** The frames of a Tendril sync link, both ways (docs/sync.md). */
const FRAMES = { 'application/x-tendril-sync': { schema: { type: 'string', format: 'binary', description: 'Tendril sync frames (docs/sync.md)' } } };
const MANIFEST = { 'rhizome/manifest; format=text+binarysig': { schema: { type: 'string', format: 'binary' } } };
const RESULT = { 'application/json': { schema: REF('JsonResult') } };
const PAGE = { 'text/html; charset=utf-8': { schema: { type: 'string', description: 'The status and reason, as servald writes them' } } };

function content(body: Body): Json {
  switch (body) {
    case 'table':
      return { 'application/json': { schema: REF('JsonTable') } };
    case 'manifest':
      return MANIFEST;
    case 'octets':
      return { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
    case 'stored':
      return { ...MANIFEST, ...RESULT };
    case 'system':
      return { 'application/json': { schema: REF('SystemStatus') } };
    case 'openapi':
      return { 'application/json': { schema: REF('OpenApiDocument') } };
    case 'html':
      return { 'text/html': { schema: { type: 'string' } } };
    case 'asset':
      return {
        'text/css': { schema: { type: 'string' } },
        'text/javascript': { schema: { type: 'string' } },
        'image/png': { schema: { type: 'string', format: 'binary' } },
        'image/svg+xml': { schema: { type: 'string' } },
      };
    case 'metrics':
      return { 'text/plain': { schema: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } } };
    case 'result':
      return RESULT;
    case 'frames':
      return FRAMES;
    case 'page':
      return PAGE;
  }
}

/** Payloads served by GET take a Range (a manifest by prefix is bytes too, but whole). */
function takesRange(route: Route, body: Body): boolean {
  return body === 'octets' && route.method === 'GET' && !route.path.includes('manifestbyprefix');
}

/** Default: 200, or 201 for a POST that writes; a route's `ok` says otherwise. */
function successStatuses(route: Route): number[] {
  if (route.ok) return [...route.ok];
  return route.scope === 'write' && route.method === 'POST' ? [201] : [200];
}

function errorStatuses(route: Route, body: Body): number[] {
  const codes = [400, 403, 404, 414, 431, 500, 503];
  // 429: waiting out failed authentications, or too many long-polls (docs/security.md).
  if (!route.family.public) codes.push(401, 429);
  if (route.family.wrongMethod === 405) codes.push(405);
  // The legacy GET forms of writes are off unless the server runs with --allow-get-writes.
  if (route.method === 'GET' && route.scope === 'write') codes.push(405);
  if (route.body === 'multipart') codes.push(408, 411, 415);
  if (route.family.needsRhizome) codes.push(423);
  // MeshMS and MeshMB need an unlocked identity; Rhizome needs a secret to write or decrypt.
  const secret = route.body === 'multipart' || route.path.endsWith('/decrypted.bin');
  if (route.family.name === 'meshms' || route.family.name === 'meshmb' || (route.family.name === 'rhizome' && secret)) codes.push(419);
  if (route.family.name === 'rhizome' && route.body === 'multipart') codes.push(422);
  if (takesRange(route, body)) codes.push(416);
  if (route.family.name === 'direct') {
    if (route.path.endsWith('/import')) codes.push(422, 423);
    if (route.path.includes('/file/')) codes.push(501);
  }
  return [...new Set(codes)].sort((a, b) => a - b);
}

/**
 * `/restful/rhizome/{bid:hex64}.rhm` → `/restful/rhizome/{bid}.rhm` and its parameters. A part of
 * kind `ignored` (text the reference ignores after a MeshMB feed ID) is no parameter: it is left
 * out of the path, which the route serves with that part empty.
 */
function pathOf(route: Route): { path: string; params: Json[] } {
  const params: Json[] = [];
  const path = route.path.replace(/\{(\w+):(\w+)\}/g, (_m, name: string, kind: string) => {
    if (kind === 'ignored') return '';
    params.push({ name, in: 'path', required: true, schema: PARAM_SCHEMAS[kind] ?? { type: 'string' } });
    return `{${name}}`;
  });
  return { path, params };
}

/** `get` + `/restful/keyring/{sid}/lock` → `getRestfulKeyringSidLock`; `/docs/` → `getDocsIndex`. */
function baseOperationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  if (path.endsWith('/')) words.push('index');
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function accessNote(route: Route): string {
  if (route.family.public) return 'No credentials needed.';
  if (route.scope === 'manage') return 'A user of the node (HTTP Basic); API tokens get 403.';
  return route.scope === 'read' ? 'Any credentials, read-only tokens included.' : 'Credentials that may write (not a read-only token).';
}

function responses(route: Route, body: Body): Json {
  const out: Json = {};
  const headers = route.family.name === 'rhizome' && body !== 'table' ? { headers: RHIZOME_HEADERS } : {};
  const failure = route.family.resultFormat === 'html' ? PAGE : RESULT;
  for (const status of successStatuses(route)) {
    const description = status === 202 ? 'Accepted, not stored (see the status codes)' : status === 302 ? 'Found: see the Location header' : 'Success';
    out[String(status)] = { description, ...headers, content: content(body) };
  }
  if (takesRange(route, body)) {
    out['206'] = {
      description: 'The requested byte range',
      headers: { ...(route.family.name === 'rhizome' ? RHIZOME_HEADERS : {}), 'Content-Range': { schema: { type: 'string' } } },
      content: content(body),
    };
  }
  for (const status of errorStatuses(route, body)) {
    out[String(status)] ??= { description: ERROR_STATUS[status] ?? 'Error', content: failure };
  }
  return out;
}

function operation(route: Route, operationId: string): Json {
  const body = bodyOf(route);
  const { params } = pathOf(route);
  const query = (route.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.doc, schema: { type: 'string' } }));
  const range =
    takesRange(route, body)
      ? [{ name: 'Range', in: 'header', required: false, description: 'bytes=FIRST-[LAST]: part of the payload (206)', schema: { type: 'string' } }]
      : [];
  const op: Json = {
    operationId,
    summary: route.summary,
    description: accessNote(route),
    tags: [route.family.name],
    parameters: [...params, ...query, ...range],
    responses: responses(route, body),
  };
  // Public routes need no credentials: an empty requirement overrides the document's.
  if (route.family.public) op.security = [];
  if (body === 'frames') op.requestBody = { required: true, content: FRAMES };
  if (route.body === 'multipart') {
    const last = route.path.slice(route.path.lastIndexOf('/') + 1);
    const form = FORMS[route.family.name === 'direct' ? `direct-${last}` : last];
    op.requestBody = {
      required: true,
      content: {
        'multipart/form-data': form ?? { schema: { type: 'object', additionalProperties: { type: 'string', format: 'binary' } } },
      },
    };
  }
  return op;
}

const TAGS: Record<string, string> = {
  keyring: 'Identities: SID, Signing ID, DID and Name; PIN-protected identities appear once unlocked',
  rhizome: 'The store of signed, versioned bundles',
  meshms: 'Private conversations between two identities',
  meshmb: 'Public feeds: post, follow, ignore, block',
  system: 'Host and node status',
  openapi: 'This description',
  docs: 'This page',
  sync: 'Tendril sync between nodes: the link other nodes open, and the peers of this one',
  route: 'Identities reachable through sync links, as the Serval route table lists them',
  health: 'Health check for load balancers and supervisors',
  metrics: 'Prometheus metrics',
  control: 'The owner-only control socket alone: API tokens, keyring load, configuration reload',
  tokens: 'API tokens, managed by users of the node (never by a token)',
  ui: 'The web UI: static files of a client of this API',
  root: 'Leads to the web UI',
  direct: "Rhizome Direct, Serval DNA's node-to-node sync over HTTP: served without credentials, only by web servers that serve `direct`",
};

/**
 * The document for `routes`. Control-only routes are left out (no network listener serves them)
 * unless `control` is set: the typed client (src/client/) is generated from that fuller document,
 * so it also speaks to the control socket.
 */
export function buildOpenApi(routes: readonly Route[], options: { control?: boolean } = {}): Json {
  const paths: Record<string, Json> = {};
  const ids = new Set<string>();
  const tags: string[] = [];
  for (const route of routes) {
    if (route.controlOnly && options.control !== true) continue;
    const { path } = pathOf(route);
    const base = baseOperationId(route.method, path);
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}${n}`;
    ids.add(id);
    if (!tags.includes(route.family.name)) tags.push(route.family.name);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, id);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tendril REST API',
      version: VERSION,
      license: { name: 'GPL-3.0-or-later', identifier: 'GPL-3.0-or-later' },
      description:
        "The node API of Tendril, wire-compatible with Serval DNA's /restful API: keyring, Rhizome, MeshMS, MeshMB and " +
        'node status. Authenticate with HTTP Basic (a user of api.restful.users) or an API token from ' +
        '`tendril web generate-token`, sent as `Authorization: Bearer TOKEN` or `X-Tendril-Token: TOKEN`. ' +
        'A server in dev mode asks for no credentials.',
    },
    servers: [{ url: '/' }],
    security: [{ basicAuth: [] }, { bearerAuth: [] }, { tokenHeader: [] }],
    tags: tags.map((name) => ({ name, description: TAGS[name] ?? name })),
    components: {
      securitySchemes: {
        basicAuth: { type: 'http', scheme: 'basic', description: 'A user of api.restful.users.NAME.password' },
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
