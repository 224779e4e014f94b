/**
 * The route table: every endpoint Tendril serves, one line each (STYLE: one route table). The
 * OpenAPI document and the docs page are generated from this same list.
 */
import type { KeyringService } from '../services/keyring/types.js';
import { keyringHandlers } from './api/keyring.js';
import type { Family, QueryDoc, Route } from './router.js';

/** What the handlers need from the node. */
export interface ApiServices {
  readonly keyring: KeyringService;
}

export const FAMILIES = {
  keyring: { name: 'keyring', prefix: '/restful/keyring/', wrongMethod: 404, needsRhizome: false },
  control: { name: 'control', prefix: '/control/', wrongMethod: 405, needsRhizome: false },
} as const satisfies Record<string, Family>;

const PIN: QueryDoc = { name: 'pin', doc: 'Unlock the identities protected by this PIN first' };
const DID: QueryDoc = { name: 'did', doc: 'DID: 5 to 31 of 0-9 * # + (empty: none)' };
const NAME: QueryDoc = { name: 'name', doc: 'Name: 1 to 63 bytes (empty: none)' };
const NEW_PIN: QueryDoc = { name: 'pin', doc: 'PIN that will protect the new identity (empty: none)' };

export function buildRoutes(services: ApiServices): Route[] {
  const k = keyringHandlers(services.keyring);
  const K = FAMILIES.keyring;
  const C = FAMILIES.control;
  const SID = '/restful/keyring/{sid:hex64}';
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
    { method: 'POST',   path: '/control/keyring/load',            family: C, scope: 'write', body: 'multipart', handler: k.load, controlOnly: true, query: [{ name: 'pin', doc: 'PIN for each loaded identity, in order (repeatable)' }], summary: 'Load identities from a keyring dump' },
  ];
}
