/**
 * The route table: every endpoint Tendril serves, one line each (STYLE: one route table). The
 * OpenAPI document and the docs page are generated from this same list.
 */
import type { KeyringService } from '../services/keyring/types.js';
import type { RhizomeService } from '../services/rhizome/types.js';
import { keyringHandlers } from './api/keyring.js';
import { rhizomeReadHandlers } from './api/rhizome-read.js';
import { rhizomeWriteHandlers } from './api/rhizome-write.js';
import type { MeshmbService } from '../services/meshmb/types.js';
import { meshmbHandlers } from './api/meshmb.js';
import type { MeshmsService } from '../services/meshms/types.js';
import { meshmsHandlers } from './api/meshms.js';
import type { HostFacts } from '../services/system/host.js';
import type { TokenService } from '../services/tokens/types.js';
import { docsHandlers } from './api/docs.js';
import { systemHandler, type NodeFacts } from './api/system.js';
import { tokenHandlers } from './api/tokens.js';
import type { PinGuard } from './pin-guard.js';
import { operationHandlers } from './api/operations.js';
import { uiHandlers } from './api/ui.js';
import { metricsHandler } from './api/metrics.js';
import type { MetricsService } from '../services/metrics/types.js';
import type { Family, QueryDoc, Route } from './router.js';
import type { SyncService } from '../services/sync/types.js';
import { SYNC_CONTENT_TYPE } from '../services/sync/dialer.js';
import { syncHandlers } from './api/sync.js';
import type { DirectService } from '../services/direct/types.js';
import { directHandlers } from './api/direct.js';
import { directSyncHandler } from './api/direct-sync.js';

/** What the handlers need from the node. */
export interface ApiServices {
  readonly keyring: KeyringService;
  readonly rhizome: RhizomeService;
  readonly meshmb: MeshmbService;
  readonly meshms: MeshmsService;
  readonly tokens: TokenService;
  /** Limits and turns for PIN attempts. */
  readonly pins: PinGuard;
  /** api.restful.newsince_timeout, read per request so a reloaded config applies at once. */
  readonly newsinceTimeoutMs: () => number;
  readonly hostFacts: () => HostFacts;
  readonly nodeFacts: () => Promise<NodeFacts>;
  readonly sync: SyncService;
  /** Applies the configuration file now (the node started by `tendril start`); absent: nothing to apply. */
  readonly reloadConfig?: () => void;
  /** The node's metrics; absent when metrics.enable is off (/metrics answers 404). */
  readonly metrics?: MetricsService;
  readonly direct: DirectService;
  /** rhizome.direct.peer.N, read per request. */
  readonly directPeers: () => readonly string[];
}

export const FAMILIES = {
  keyring: { name: 'keyring', prefix: '/restful/keyring/', wrongMethod: 404, needsRhizome: false },
  rhizome: { name: 'rhizome', prefix: '/restful/rhizome/', wrongMethod: 405, needsRhizome: true },
  meshmb: { name: 'meshmb', prefix: '/restful/meshmb/', wrongMethod: 405, needsRhizome: true },
  meshms: { name: 'meshms', prefix: '/restful/meshms/', wrongMethod: 405, needsRhizome: true },
  system: { name: 'system', prefix: '/restful/system', wrongMethod: 405, needsRhizome: false },
  // The API's description and docs page: no credentials, so a browser can load them to log in.
  docs: { name: 'docs', prefix: '/docs', wrongMethod: 405, needsRhizome: false, public: true },
  openapi: { name: 'openapi', prefix: '/openapi.json', wrongMethod: 405, needsRhizome: false, public: true },
  control: { name: 'control', prefix: '/control/', wrongMethod: 405, needsRhizome: false },
  // Tendril sync between nodes (docs/sync.md): only on servers that serve `sync`.
  sync: { name: 'sync', prefix: '/sync/', wrongMethod: 405, needsRhizome: true, serve: 'sync', rawBody: SYNC_CONTENT_TYPE },
  syncStatus: { name: 'sync', prefix: '/restful/sync/', wrongMethod: 405, needsRhizome: false },
  route: { name: 'route', prefix: '/restful/route/', wrongMethod: 404, needsRhizome: false },
  // For load balancers and supervisors: no credentials, nothing in the answer beyond "up".
  health: { name: 'health', prefix: '/healthz', wrongMethod: 405, needsRhizome: false, public: true, serve: 'any' },
  // Prometheus metrics, behind the API's credentials (a read-only token is enough).
  metrics: { name: 'metrics', prefix: '/metrics', wrongMethod: 405, needsRhizome: false, serve: 'metrics' },
  // API tokens over the REST API, for users of the node (the web UI): `manage` routes.
  tokens: { name: 'tokens', prefix: '/restful/tokens', wrongMethod: 405, needsRhizome: false },
  // The web UI's static files, and `/` that leads there: no credentials, the page signs in itself.
  ui: { name: 'ui', prefix: '/ui', wrongMethod: 405, needsRhizome: false, public: true },
  root: { name: 'root', prefix: '/', exact: true, wrongMethod: 405, needsRhizome: false, public: true },
  // Rhizome Direct (the reference's node-to-node sync): no credentials, as its clients send none,
  // so only servers that serve `direct` have it; never for browsers; servald's HTML status pages.
  direct: { name: 'direct', prefix: '/rhizome/', wrongMethod: 405, needsRhizome: true, public: true, serve: 'direct', resultFormat: 'html', refuseBrowsers: true },
} as const satisfies Record<string, Family>;

const PIN: QueryDoc = { name: 'pin', doc: 'Unlock the identities protected by this PIN first' };
const DID: QueryDoc = { name: 'did', doc: 'DID: 5 to 31 of 0-9 * # + (empty: none)' };
const NAME: QueryDoc = { name: 'name', doc: 'Name: 1 to 63 bytes (empty: none)' };
const NEW_PIN: QueryDoc = { name: 'pin', doc: 'PIN that will protect the new identity (empty: none)' };
const FILTERS: readonly QueryDoc[] = [
  { name: 'service', doc: 'Only bundles of this service' },
  { name: 'name', doc: 'Only bundles whose name matches this SQL LIKE pattern' },
  { name: 'sender', doc: 'Only bundles from this SID' },
  { name: 'recipient', doc: 'Only bundles to this SID' },
];
const IMPORT_QUERY: readonly QueryDoc[] = [
  { name: 'id', doc: 'Bundle ID of the manifest being imported (with version: answered at once if already stored)' },
  { name: 'version', doc: 'Version of the manifest being imported' },
];
const FEED_SENDER: QueryDoc = { name: 'sender', doc: "The feed author's SID, used until the feed itself arrives" };
const TOKEN_QUERY: readonly QueryDoc[] = [
  { name: 'name', doc: 'Label' },
  { name: 'expires', doc: 'Lifetime, e.g. 30d' },
  { name: 'read_only', doc: '1: read-only' },
];
const FEED_NAME: QueryDoc = { name: 'name', doc: "A name to show for the feed instead of its own" };

export function buildRoutes(services: ApiServices): Route[] {
  const k = keyringHandlers(services.keyring, services.pins);
  const r = rhizomeReadHandlers(services.rhizome, services.newsinceTimeoutMs);
  const w = rhizomeWriteHandlers(services.rhizome);
  const mb = meshmbHandlers(services.meshmb, services.newsinceTimeoutMs);
  const MB = FAMILIES.meshmb;
  const ID = '/restful/meshmb/{id:hex64}';
  const FEED = '/restful/meshmb/{feed:hex64}';
  const ms = meshmsHandlers(services.meshms, services.newsinceTimeoutMs);
  const MS = FAMILIES.meshms;
  const MY = '/restful/meshms/{my:sid}';
  const PAIR = '/restful/meshms/{my:sid}/{their:sid}';
  const t = tokenHandlers(services.tokens);
  const rd = directHandlers(services.direct);
  const RD = FAMILIES.direct;
  const system = systemHandler(services.hostFacts, services.nodeFacts);
  const sy = syncHandlers(services.sync);
  const op = operationHandlers(services.reloadConfig);
  const ui = uiHandlers();
  const TK = FAMILIES.tokens;
  const U = FAMILIES.ui;
  // The docs read the finished table, which includes their own routes.
  let table: Route[] = [];
  const d = docsHandlers(() => table);
  const K = FAMILIES.keyring;
  const R = FAMILIES.rhizome;
  const S = FAMILIES.system;
  const D = FAMILIES.docs;
  const O = FAMILIES.openapi;
  const C = FAMILIES.control;
  const H = FAMILIES.health;
  const M = FAMILIES.metrics;
  const SID = '/restful/keyring/{sid:hex64}';
  const BID = '/restful/rhizome/{bid:hex64}';
  // prettier-ignore
  table = [
    { method: 'GET',    path: '/restful/keyring/identities.json', family: K, scope: 'read',  body: 'none', handler: k.list,   query: [PIN], summary: 'List unlocked identities' },
    { method: 'POST',   path: '/restful/keyring/add',             family: K, scope: 'write', body: 'none', handler: k.add,    query: [NEW_PIN, DID, NAME], summary: 'Create an identity' },
    { method: 'GET',    path: '/restful/keyring/add',             family: K, scope: 'write', body: 'none', ok: [201], handler: k.add,    query: [NEW_PIN, DID, NAME], summary: 'Create an identity (legacy GET form)' },
    { method: 'GET',    path: SID,                                family: K, scope: 'read',  body: 'none', handler: k.get,    query: [PIN], summary: 'Get an unlocked identity' },
    { method: 'PATCH',  path: SID,                                family: K, scope: 'write', body: 'none', handler: k.update, query: [PIN, DID, NAME], summary: 'Set the DID and/or Name of an identity' },
    { method: 'POST',   path: SID,                                family: K, scope: 'write', body: 'none', ok: [200], handler: k.update, query: [PIN, DID, NAME], summary: 'Set the DID and/or Name of an identity (POST form)' },
    { method: 'GET',    path: `${SID}/set`,                       family: K, scope: 'write', body: 'none', handler: k.update, query: [PIN, DID, NAME], summary: 'Set the DID and/or Name of an identity (legacy GET form)' },
    { method: 'DELETE', path: SID,                                family: K, scope: 'write', body: 'none', handler: k.remove, query: [PIN], summary: 'Erase an identity from the keyring' },
    { method: 'GET',    path: `${SID}/remove`,                    family: K, scope: 'write', body: 'none', handler: k.remove, query: [PIN], summary: 'Erase an identity (legacy GET form)' },
    { method: 'PUT',    path: `${SID}/lock`,                      family: K, scope: 'write', body: 'none', handler: k.lock,   summary: 'Lock an identity until its PIN is given again' },
    { method: 'GET',    path: `${SID}/lock`,                      family: K, scope: 'write', body: 'none', handler: k.lock,   summary: 'Lock an identity (legacy GET form)' },
    { method: 'GET',    path: '/restful/rhizome/bundlelist.json',                  family: R, scope: 'read',  body: 'none', handler: r.list,      query: FILTERS, summary: 'List bundles, newest first' },
    { method: 'GET',    path: '/restful/rhizome/newsince/bundlelist.json',         family: R, scope: 'read',  body: 'none', handler: r.newsince,  query: FILTERS, summary: 'List all bundles, then new ones as they arrive (long-poll)' },
    { method: 'GET',    path: '/restful/rhizome/newsince/{token:token}/bundlelist.json', family: R, scope: 'read', body: 'none', handler: r.newsince, query: FILTERS, summary: 'List bundles newer than a token, then new ones as they arrive (long-poll)' },
    { method: 'GET',    path: `${BID}.rhm`,                                        family: R, scope: 'read',  body: 'none', handler: r.manifest,  summary: 'Get the signed manifest of a bundle' },
    { method: 'GET',    path: `${BID}/raw.bin`,                                    family: R, scope: 'read',  body: 'none', handler: r.raw,       summary: 'Get the payload as stored (Range supported)' },
    { method: 'GET',    path: `${BID}/decrypted.bin`,                              family: R, scope: 'read',  body: 'none', handler: r.decrypted, summary: 'Get the payload, decrypted (Range supported)' },
    { method: 'POST',   path: '/restful/rhizome/insert',                           family: R, scope: 'write', body: 'multipart', ok: [201, 200, 202], handler: w.insert, summary: 'Create or update a bundle' },
    { method: 'POST',   path: '/restful/rhizome/append',                           family: R, scope: 'write', body: 'multipart', ok: [201, 200, 202], handler: w.append, summary: 'Create or extend a journal bundle' },
    { method: 'POST',   path: '/restful/rhizome/import',                           family: R, scope: 'write', body: 'multipart', ok: [201, 200, 202], handler: w.import, query: IMPORT_QUERY, summary: 'Store a bundle signed elsewhere' },
    { method: 'POST',   path: `${ID}/sendmessage`,                                 family: MB, scope: 'write', body: 'multipart', handler: mb.send, summary: "Append a message to the identity's own feed" },
    { method: 'GET',    path: `${FEED}/messagelist.json`,                          family: MB, scope: 'read',  body: 'none', handler: mb.messages,      summary: "List a feed's messages, newest first" },
    { method: 'GET',    path: `${FEED}/newsince/messagelist.json`,                 family: MB, scope: 'read',  body: 'none', handler: mb.newsince,      summary: "List a feed's messages, then new ones as they arrive (long-poll)" },
    { method: 'GET',    path: `${FEED}/newsince/{token:token}/messagelist.json`,   family: MB, scope: 'read',  body: 'none', handler: mb.newsince,      summary: "List a feed's messages newer than a token, then new ones (long-poll)" },
    { method: 'GET',    path: `${ID}/feedlist.json`,                               family: MB, scope: 'read',  body: 'none', handler: mb.feeds,         summary: 'List the feeds an identity follows or blocks' },
    { method: 'GET',    path: `${ID}/activity.json`,                               family: MB, scope: 'read',  body: 'none', handler: mb.activity,      summary: "List the messages of followed feeds and one's own, newest noticed first" },
    { method: 'GET',    path: `${ID}/activity/{token:token}/activity.json`,        family: MB, scope: 'read',  body: 'none', handler: mb.activitySince, summary: 'List activity newer than a token, then new activity as it arrives (long-poll)' },
    { method: 'GET',    path: `${ID}/activity/activity.json`,                      family: MB, scope: 'read',  body: 'none', handler: mb.activitySince, summary: 'List all activity, then new activity as it arrives (long-poll)' },
    { method: 'POST',   path: `${ID}/follow/{feed:hex64}{rest:ignored}`,           family: MB, scope: 'write', body: 'none', handler: mb.follow, query: [FEED_NAME, FEED_SENDER], summary: 'Follow a feed' },
    { method: 'POST',   path: `${ID}/ignore/{feed:hex64}{rest:ignored}`,           family: MB, scope: 'write', body: 'none', handler: mb.ignore, summary: 'Stop following (or blocking) a feed' },
    { method: 'POST',   path: `${ID}/block/{feed:hex64}{rest:ignored}`,            family: MB, scope: 'write', body: 'none', handler: mb.block, query: [FEED_SENDER], summary: 'Block a feed' },
    // MeshMS (spec §4.3). The list GETs acknowledge new messages as a side effect, as the
    // reference's do, for credentials that may write; for read-only ones they store nothing.
    { method: 'GET',    path: `${MY}/conversationlist.json`,                        family: MS, scope: 'read',  body: 'none', handler: ms.conversations, summary: 'List the conversations of an identity' },
    { method: 'GET',    path: `${PAIR}/messagelist.json`,                           family: MS, scope: 'read',  body: 'none', handler: ms.messages, summary: 'List the messages of a conversation, newest first' },
    { method: 'GET',    path: `${PAIR}/newsince/messagelist.json`,                  family: MS, scope: 'read',  body: 'none', handler: ms.newsince, summary: 'List the messages of a conversation, then new ones as they arrive (long-poll)' },
    { method: 'GET',    path: `${PAIR}/newsince/{token:token}/messagelist.json`,    family: MS, scope: 'read',  body: 'none', handler: ms.newsince, summary: 'List messages newer than a token, then new ones as they arrive (long-poll)' },
    { method: 'POST',   path: `${PAIR}/sendmessage`,                                family: MS, scope: 'write', body: 'multipart', handler: ms.send, summary: 'Send a message (form part "message", text/plain; charset=utf-8, at most 4094 bytes)' },
    { method: 'POST',   path: `${MY}/readall`,                                      family: MS, scope: 'write', body: 'none', emptyBody: true, ok: [201, 200], handler: ms.readAllConversations, summary: 'Mark every conversation read' },
    { method: 'POST',   path: `${PAIR}/readall`,                                    family: MS, scope: 'write', body: 'none', emptyBody: true, ok: [201, 200], handler: ms.readAll, summary: 'Mark a conversation read' },
    { method: 'POST',   path: `${PAIR}/recv/{offset:uint}/read`,                    family: MS, scope: 'write', body: 'none', emptyBody: true, ok: [201, 200], handler: ms.readTo, summary: 'Mark a conversation read up to an offset of their ply' },
    { method: 'GET',    path: '/restful/system',                  family: S, scope: 'read',  body: 'none', handler: system, summary: 'Host and node status (no secrets)' },
    { method: 'POST',   path: '/sync/v1/link',                    family: FAMILIES.sync, scope: 'read', body: 'none', ok: [200], handler: sy.link, summary: 'Open a Tendril sync link: frames both ways for as long as it lives (a read-only token pulls only)' },
    { method: 'GET',    path: '/restful/sync/peers.json',         family: FAMILIES.syncStatus, scope: 'read', body: 'none', handler: sy.peers, summary: 'Sync peers: address, state, last contact, bundles and bytes each way, lag' },
    { method: 'GET',    path: '/restful/route/all.json',          family: FAMILIES.route, scope: 'read', body: 'none', handler: sy.routes, summary: 'Identities reachable: this node\'s own and those of sync peers and beyond, with hop counts' },
    { method: 'GET',    path: '/openapi.json',                    family: O, scope: 'read',  body: 'none', handler: d.openapi, summary: 'This API, described in OpenAPI 3.1' },
    { method: 'GET',    path: '/docs',                            family: D, scope: 'read',  body: 'none', handler: d.page, summary: 'Interactive API documentation' },
    { method: 'GET',    path: '/docs/',                           family: D, scope: 'read',  body: 'none', handler: d.page, summary: 'Interactive API documentation' },
    { method: 'GET',    path: '/docs/{file:segment}',             family: D, scope: 'read',  body: 'none', handler: d.asset, summary: 'Assets of the documentation page' },
    { method: 'POST',   path: '/control/keyring/load',            family: C, scope: 'write', body: 'multipart', handler: k.load, controlOnly: true, query: [{ name: 'pin', doc: 'PIN for each loaded identity, in order (repeatable)' }], summary: 'Load identities from a keyring dump' },
    { method: 'POST',   path: '/control/tokens',                  family: C, scope: 'write', body: 'none', handler: t.generate, controlOnly: true, query: TOKEN_QUERY, summary: 'Make an API token' },
    { method: 'GET',    path: '/control/tokens',                  family: C, scope: 'read',  body: 'none', handler: t.list, controlOnly: true, summary: 'List API tokens' },
    { method: 'DELETE', path: '/control/tokens/{id:segment}',     family: C, scope: 'write', body: 'none', handler: t.revoke, controlOnly: true, summary: 'Revoke an API token' },
    { method: 'POST',   path: '/control/config/reload',           family: C, scope: 'write', body: 'none', ok: [200], handler: op.reloadConfig, controlOnly: true, summary: 'Apply the configuration file now; answers once applied' },
    { method: 'GET',    path: '/healthz',                         family: H, scope: 'read',  body: 'none', handler: op.health, summary: 'Health check: 200 while the node serves requests (no credentials)' },
    { method: 'GET',    path: '/metrics',                         family: M, scope: 'read',  body: 'none', handler: metricsHandler(services.metrics), summary: 'Metrics in the Prometheus text format' },
    { method: 'GET',    path: '/restful/tokens',                  family: TK, scope: 'manage', body: 'none', handler: t.list, summary: 'List API tokens (a user of the node, not a token)' },
    { method: 'POST',   path: '/restful/tokens',                  family: TK, scope: 'manage', body: 'none', ok: [201], handler: t.generate, query: TOKEN_QUERY, summary: 'Make an API token; its secret is in this answer only (a user of the node, not a token)' },
    { method: 'DELETE', path: '/restful/tokens/{id:segment}',     family: TK, scope: 'manage', body: 'none', handler: t.revoke, summary: 'Revoke an API token (a user of the node, not a token)' },
    { method: 'GET',    path: '/',                                family: FAMILIES.root, scope: 'read', body: 'none', ok: [302], handler: ui.root, summary: 'Leads to the web UI (/ui/)' },
    { method: 'GET',    path: '/ui',                              family: U, scope: 'read',  body: 'none', handler: ui.page, summary: 'The web UI' },
    { method: 'GET',    path: '/ui/',                             family: U, scope: 'read',  body: 'none', handler: ui.page, summary: 'The web UI' },
    { method: 'GET',    path: '/ui/{file:segment}',               family: U, scope: 'read',  body: 'none', handler: ui.asset, summary: 'Assets of the web UI' },
    { method: 'POST',   path: '/rhizome/enquiry',                           family: RD, scope: 'read',  body: 'multipart', handler: rd.enquiry, summary: 'Rhizome Direct: compare a window of BARs (part "data": range and BARs); answers what to send and what to fetch' },
    { method: 'POST',   path: '/rhizome/import',                            family: RD, scope: 'write', body: 'multipart', ok: [201, 200, 202], handler: rd.import, summary: 'Rhizome Direct: store a signed bundle (parts "manifest", then "data")' },
    { method: 'GET',    path: '/rhizome/manifestbyprefix/{prefix:segment}', family: RD, scope: 'read',  body: 'none', handler: rd.manifestByPrefix, summary: 'Rhizome Direct: the signed manifest whose Bundle ID starts with this hex prefix' },
    { method: 'GET',    path: '/rhizome/file/{hash:segment}',               family: RD, scope: 'read',  body: 'none', handler: rd.file, summary: 'Rhizome Direct: a payload by its SHA-512 (Range supported)' },
    { method: 'POST',   path: '/control/rhizome/direct/{mode:segment}',     family: C,  scope: 'write', body: 'none', handler: directSyncHandler(services.direct, services.directPeers), controlOnly: true, query: [{ name: 'url', doc: 'The peer (default: rhizome.direct.peer.0 … 9 in turn)' }], summary: 'Push, pull or sync with Rhizome Direct peers (progress as a live table)' },
  ];
  return table;
}
