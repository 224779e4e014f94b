/**
 * The OpenAPI document: structurally valid (path parameters declared, operation ids unique, every
 * $ref resolved, security schemes known), covering every route a network listener serves — and
 * the coverage check fails when a route is missing, shown by removing each route in turn — with
 * the statuses a live node really answers, served at /openapi.json without credentials and
 * printed identically by `tendril web openapi`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildOpenApi, openApiKey, type Json } from '../../src/http/openapi.js';
import { Router, type Route } from '../../src/http/router.js';
import { buildRoutes, type ApiServices } from '../../src/http/routes.js';
import { cliOk } from '../helpers/cli.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** Services that fail if touched: building the table must not call them. */
function untouchable(): ApiServices {
  const stub = new Proxy({}, { get: (_t, name) => () => assert.fail(`service member ${String(name)} used while building routes`) });
  return stub as unknown as ApiServices;
}

const ROUTES: readonly Route[] = buildRoutes(untouchable());
const SERVED = ROUTES.filter((r) => !r.controlOnly);
const PUBLIC_PATHS = new Set(SERVED.filter((r) => r.family.public).map((r) => openApiKey(r).path));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Operation = Json & { operationId: string; parameters: Array<{ name: string; in: string; required?: boolean }>; responses: Record<string, Json> };

function operations(doc: Json): Array<{ path: string; method: string; op: Operation }> {
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op })),
  );
}

/** Every `$ref` in the document, with where it was found. */
function refs(value: unknown, at = '#', out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => refs(v, `${at}/${i}`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (node === null || typeof node !== 'object' || !(part in node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The structural problems of a document, as readable lines (empty: none). */
function structuralProblems(doc: Json): string[] {
  const problems: string[] = [];
  if (doc.openapi !== '3.1.0') problems.push(`openapi is ${JSON.stringify(doc.openapi)}`);
  const info = doc.info as Json | undefined;
  if (typeof info?.title !== 'string' || typeof info.version !== 'string') problems.push('info.title/version missing');
  const schemes = Object.keys(((doc.components as Json).securitySchemes as Json | undefined) ?? {});
  const checkSecurity = (where: string, security: unknown): void => {
    for (const requirement of security as Json[]) {
      for (const name of Object.keys(requirement)) if (!schemes.includes(name)) problems.push(`${where}: unknown security scheme ${name}`);
    }
  };
  checkSecurity('document', doc.security);
  const ids = new Map<string, string>();
  for (const { path, method, op } of operations(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    if (typeof op.operationId !== 'string' || op.operationId === '') problems.push(`${where}: no operationId`);
    else if (ids.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} also used by ${ids.get(op.operationId)}`);
    else ids.set(op.operationId, where);
    const inPath = [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
    if (/[{}]/.test(path.replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, ''))) problems.push(`${where}: malformed template`);
    const declared = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
    for (const name of inPath) if (!declared.includes(name)) problems.push(`${where}: path parameter {${name}} not declared`);
    for (const name of declared) if (!inPath.includes(name)) problems.push(`${where}: parameter ${name} declared in: path but not in the path`);
    for (const p of op.parameters) if (p.in === 'path' && p.required !== true) problems.push(`${where}: path parameter ${p.name} not required`);
    const seen = new Set<string>();
    for (const p of op.parameters) {
      const key = `${p.in}:${p.name}`;
      if (seen.has(key)) problems.push(`${where}: parameter ${key} twice`);
      seen.add(key);
    }
    const statuses = Object.keys(op.responses);
    if (!statuses.some((s) => /^[23]\d\d$/.test(s))) problems.push(`${where}: no success response`);
    for (const s of statuses) {
      if (!/^[1-5]\d\d$/.test(s)) problems.push(`${where}: response key ${s}`);
      if (typeof op.responses[s]!.description !== 'string') problems.push(`${where}: response ${s} has no description`);
    }
    if (op.security !== undefined) checkSecurity(where, op.security);
  }
  for (const [at, ref] of refs(doc)) if (resolvePointer(doc, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`);
  return problems;
}

/** The routes of `table` the document does not describe with their method (empty: all there). */
function missingRoutes(doc: Json, table: readonly Route[]): string[] {
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  return table
    .filter((r) => !r.controlOnly)
    .filter((r) => {
      const { path, method } = openApiKey(r);
      return paths[path]?.[method] === undefined;
    })
    .map((r) => `${r.method} ${r.path}`);
}

function op(doc: Json, method: string, path: string): Operation {
  const found = (doc.paths as Record<string, Record<string, Operation>>)[path]?.[method];
  assert.ok(found, `${method} ${path} is described`);
  return found;
}

const statusesOf = (o: Operation): number[] => Object.keys(o.responses).map(Number);

describe('OpenAPI document', () => {
  const doc = buildOpenApi(ROUTES);

  it('is structurally valid: path parameters declared, operation ids unique, every $ref resolves', () => {
    assert.deepEqual(structuralProblems(doc), []);
    // The checker itself catches what it claims to.
    const broken = JSON.parse(JSON.stringify(doc)) as Json;
    const ops = operations(broken);
    ops[1]!.op.operationId = ops[0]!.op.operationId;
    const withParam = ops.find((o) => o.path.includes('{'))!;
    withParam.op.parameters = withParam.op.parameters.filter((p) => p.in !== 'path');
    (ops.find((o) => o.op.responses['200'])!.op.responses['200'] as Json).content = { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } };
    const problems = structuralProblems(broken);
    assert.ok(problems.some((p) => p.includes('operationId')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('not declared')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('does not resolve')), problems.join('\n'));
  });

  it('describes every route a network listener serves, with its method, and nothing else', () => {
    assert.deepEqual(missingRoutes(doc, ROUTES), []);
    const keys = SERVED.map((r) => {
      const k = openApiKey(r);
      return `${k.method} ${k.path}`;
    });
    assert.equal(new Set(keys).size, keys.length, 'no two routes share an OpenAPI path and method');
    assert.equal(operations(doc).length, SERVED.length);
    assert.ok(!Object.keys(doc.paths as Json).some((p) => p.startsWith('/control/')), 'control-only routes are left out');
  });

  it('fails the coverage check when any one route is missing from the table it was built from', () => {
    for (const removed of SERVED) {
      const partial = buildOpenApi(ROUTES.filter((r) => r !== removed));
      assert.deepEqual(missingRoutes(partial, ROUTES), [`${removed.method} ${removed.path}`]);
    }
  });

  it('leaves out the ignored tail of the MeshMB follow, ignore and block paths', () => {
    for (const verb of ['follow', 'ignore', 'block']) {
      const o = op(doc, 'post', `/restful/meshmb/{id}/${verb}/{feed}`);
      assert.deepEqual(o.parameters.filter((p) => p.in === 'path').map((p) => p.name), ['id', 'feed']);
    }
    assert.ok(!JSON.stringify(doc.paths).includes('{rest}'));
  });

  it('lists 419 for MeshMS and MeshMB (unlocked identity) and the Rhizome routes that need a secret', () => {
    for (const { path, op: o } of operations(doc)) {
      const needs = /^\/restful\/(meshmb|meshms)\//.test(path) || /^\/restful\/rhizome\/(insert|append|import|\{bid\}\/decrypted\.bin)$/.test(path);
      assert.equal(statusesOf(o).includes(419), needs, path);
    }
  });

  it('gives each route its real success statuses and body', () => {
    const json = (o: Operation, status: number): Json => (o.responses[String(status)]!.content as Json)['application/json'] as Json;
    assert.deepEqual(json(op(doc, 'get', '/restful/keyring/identities.json'), 200).schema, { $ref: '#/components/schemas/JsonTable' });
    assert.ok(statusesOf(op(doc, 'get', '/restful/keyring/add')).includes(201));
    assert.ok(!statusesOf(op(doc, 'get', '/restful/keyring/add')).includes(200));
    assert.ok(statusesOf(op(doc, 'post', '/restful/keyring/{sid}')).includes(200));
    assert.ok(!statusesOf(op(doc, 'post', '/restful/keyring/{sid}')).includes(201));
    for (const path of ['/restful/rhizome/insert', '/restful/rhizome/append', '/restful/rhizome/import']) {
      for (const s of [200, 201, 202]) assert.ok(statusesOf(op(doc, 'post', path)).includes(s), `${path} ${s}`);
    }
    const insert = op(doc, 'post', '/restful/rhizome/insert');
    assert.ok((insert.responses['201']!.content as Json)['rhizome/manifest; format=text+binarysig']);
    assert.ok(((insert.requestBody as Json).content as Json)['multipart/form-data']);
    for (const path of ['/restful/meshms/{my}/readall', '/restful/meshms/{my}/{their}/readall', '/restful/meshms/{my}/{their}/recv/{offset}/read']) {
      assert.deepEqual(statusesOf(op(doc, 'post', path)).filter((s) => s < 300).sort(), [200, 201], path);
    }
    const raw = op(doc, 'get', '/restful/rhizome/{bid}/raw.bin');
    assert.ok(statusesOf(raw).includes(206) && statusesOf(raw).includes(416));
    assert.ok(raw.parameters.some((p) => p.in === 'header' && p.name === 'Range'));
    assert.deepEqual(json(op(doc, 'get', '/restful/system'), 200).schema, { $ref: '#/components/schemas/SystemStatus' });
    assert.deepEqual(json(op(doc, 'get', '/openapi.json'), 200).schema, { $ref: '#/components/schemas/OpenApiDocument' });
    assert.ok((op(doc, 'get', '/docs').responses['200']!.content as Json)['text/html']);
  });

  it('asks public routes for no credentials and every other route for one of the three schemes', () => {
    assert.deepEqual(doc.security, [{ basicAuth: [] }, { bearerAuth: [] }, { tokenHeader: [] }]);
    const schemes = (doc.components as Json).securitySchemes as Record<string, Json>;
    assert.deepEqual(schemes.basicAuth, { ...schemes.basicAuth, type: 'http', scheme: 'basic' });
    assert.deepEqual(schemes.bearerAuth, { ...schemes.bearerAuth, type: 'http', scheme: 'bearer' });
    assert.deepEqual(schemes.tokenHeader, { ...schemes.tokenHeader, type: 'apiKey', in: 'header', name: 'X-Tendril-Token' });
    for (const { path, op: o } of operations(doc)) {
      const isPublic = PUBLIC_PATHS.has(path);
      assert.deepEqual(o.security, isPublic ? [] : undefined, path);
      assert.equal(statusesOf(o).includes(401), !isPublic, path);
    }
  });
});

describe('OpenAPI document, served', () => {
  let tn: TestNode;
  before(async () => {
    // With the legacy GET forms served, so that every route's success can be seen (their 405
    // without the option is checked below).
    tn = await startTestNode({ getWrites: true });
  });
  after(() => tn.destroy());

  it('is served at /openapi.json without credentials, equal to the one built from the table', async () => {
    const reply = await tn.request('GET', '/openapi.json', { auth: null });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    assert.deepEqual(reply.json(), JSON.parse(JSON.stringify(buildOpenApi(ROUTES))));
  });

  it('lists the statuses a live node answers', async () => {
    const doc = (await tn.request('GET', '/openapi.json')).json<Json>();
    const router = new Router(ROUTES);
    const check = async (method: string, target: string, expected: number, auth?: string | null): Promise<string> => {
      const reply = await tn.request(method, target, { auth });
      assert.equal(reply.status, expected, `${method} ${target}: ${reply.text}`);
      const m = router.match(method, target.split('?')[0]!, false);
      assert.equal(m.kind, 'route', `${method} ${target} matches a route`);
      if (m.kind !== 'route') return reply.text;
      const key = openApiKey(m.route);
      assert.ok(statusesOf(op(doc, key.method, key.path)).includes(expected), `${method} ${key.path} documents ${expected}`);
      return reply.text;
    };
    await check('GET', '/restful/keyring/identities.json', 401, null);
    const added = JSON.parse(await check('GET', '/restful/keyring/add?name=Ann', 201)) as { identity: { sid: string } };
    const sid = added.identity.sid;
    await check('POST', '/restful/keyring/add?name=Bea', 201);
    await check('GET', '/restful/keyring/identities.json', 200);
    await check('POST', `/restful/keyring/${sid}?name=Anna`, 200);
    await check('PATCH', `/restful/keyring/${sid}?name=Ann`, 200);
    await check('GET', `/restful/keyring/${sid}`, 200);
    await check('POST', `/restful/meshms/${sid}/readall`, 200);
    await check('GET', `/restful/meshms/${sid}/conversationlist.json`, 200);
    await check('GET', `/restful/meshmb/${'0'.repeat(64)}/messagelist.json`, 200);
    await check('GET', '/restful/rhizome/bundlelist.json', 200);
    await check('GET', `/restful/rhizome/${'A'.repeat(64)}.rhm`, 404);
    await check('GET', '/restful/system', 200);
    await check('GET', '/docs', 200, null);
    await check('GET', '/docs/swagger-ui.css', 200, null);
    await check('GET', '/docs/nothing.js', 404, null);
    await check('PUT', `/restful/keyring/${sid}/lock`, 200);
    // The legacy GET forms document the 405 they answer where --allow-get-writes is not given.
    for (const path of ['/restful/keyring/add', '/restful/keyring/{sid}/set', '/restful/keyring/{sid}/remove', '/restful/keyring/{sid}/lock']) {
      assert.ok(statusesOf(op(doc, 'get', path)).includes(405), path);
    }
  });

  it('is what `tendril web openapi` prints, from the running node and from one it starts itself', async () => {
    const served = (await tn.request('GET', '/openapi.json', { auth: null })).text;
    assert.equal(await cliOk(tn.paths.root, ['web', 'openapi']), served);
    await tn.stop();
    assert.equal(await cliOk(tn.paths.root, ['web', 'openapi']), served);
  });
});
