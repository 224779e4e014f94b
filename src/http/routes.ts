/**
 * The route table: every endpoint Tendril serves, one line each (STYLE: one route table). The
 * OpenAPI document and the docs page are generated from this same list.
 */
import type { KeyringService } from '../services/keyring/types.js';
import type { RhizomeService } from '../services/rhizome/types.js';
import { keyringHandlers } from './api/keyring.js';
import { rhizomeReadHandlers } from './api/rhizome-read.js';
import { rhizomeWriteHandlers } from './api/rhizome-write.js';
import type { Family, QueryDoc, Route } from './router.js';

/** What the handlers need from the node. */
export interface ApiServices {
  readonly keyring: KeyringService;
  readonly rhizome: RhizomeService;
  /** api.restful.newsince_timeout, read per request so a reloaded config applies at once. */
  readonly newsinceTimeoutMs: () => number;
}

export const FAMILIES = {
  keyring: { name: 'keyring', prefix: '/restful/keyring/', wrongMethod: 404, needsRhizome: false },
  rhizome: { name: 'rhizome', prefix: '/restful/rhizome/', wrongMethod: 405, needsRhizome: true },
  control: { name: 'control', prefix: '/control/', wrongMethod: 405, needsRhizome: false },
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

export function buildRoutes(services: ApiServices): Route[] {
  const k = keyringHandlers(services.keyring);
  const r = rhizomeReadHandlers(services.rhizome, services.newsinceTimeoutMs);
  const w = rhizomeWriteHandlers(services.rhizome);
  const K = FAMILIES.keyring;
  const R = FAMILIES.rhizome;
  const C = FAMILIES.control;
  const SID = '/restful/keyring/{sid:hex64}';
  const BID = '/restful/rhizome/{bid:hex64}';
  // prettier-ignore
  return [
    { method: 'GET',    path: '/restful/keyring/identities.json', family: K, scope: 'read',  body: 'none', handler: k.list,   query: [PIN], summary: 'List unlocked identities' },
    { method: 'POST',   path: '/restful/keyring/add',             family: K, scope: 'write', body: 'none', handler: k.add,    query: [NEW_PIN, DID, NAME], summary: 'Create an identity' },
    { method: 'GET',    path: '/restful/keyring/add',             family: K, scope: 'write', body: 'none', handler: k.add,    query: [NEW_PIN, DID, NAME], summary: 'Create an identity (legacy GET form)' },
    { method: 'GET',    path: SID,                                family: K, scope: 'read',  body: 'none', handler: k.get,    query: [PIN], summary: 'Get an unlocked identity' },
    { method: 'PATCH',  path: SID,                                family: K, scope: 'write', body: 'none', handler: k.update, query: [PIN, DID, NAME], summary: 'Set the DID and/or Name of an identity' },
    { method: 'POST',   path: SID,                                family: K, scope: 'write', body: 'none', handler: k.update, query: [PIN, DID, NAME], summary: 'Set the DID and/or Name of an identity (POST form)' },
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
    { method: 'POST',   path: '/restful/rhizome/insert',                           family: R, scope: 'write', body: 'multipart', handler: w.insert, summary: 'Create or update a bundle' },
    { method: 'POST',   path: '/restful/rhizome/append',                           family: R, scope: 'write', body: 'multipart', handler: w.append, summary: 'Create or extend a journal bundle' },
    { method: 'POST',   path: '/restful/rhizome/import',                           family: R, scope: 'write', body: 'multipart', handler: w.import, query: IMPORT_QUERY, summary: 'Store a bundle signed elsewhere' },
    { method: 'POST',   path: '/control/keyring/load',            family: C, scope: 'write', body: 'multipart', handler: k.load, controlOnly: true, query: [{ name: 'pin', doc: 'PIN for each loaded identity, in order (repeatable)' }], summary: 'Load identities from a keyring dump' },
  ];
}
