/** Identities (spec §2): list, add, change, remove, lock; loading a keyring dump (control socket only). */
import { ok, postForm, queryString, type Core } from './core.js';
import { apiErrorOf } from './errors.js';
import { tableObjects } from './table.js';
import type { Identity } from './rows.js';

export interface IdentityChanges {
  /** The identity's PIN, when it is protected by one. */
  readonly pin?: string;
  /** 5 to 31 of 0-9 * # +; empty clears it. */
  readonly did?: string;
  /** 1 to 63 bytes; empty clears it. */
  readonly name?: string;
}

export interface KeyringApi {
  /** The unlocked identities; `pin` unlocks those it protects first. */
  list(options?: { pin?: string }): Promise<Identity[]>;
  get(sid: string, options?: { pin?: string }): Promise<Identity>;
  /** Creates an identity, protected by `pin` if given. */
  add(options?: IdentityChanges): Promise<Identity>;
  set(sid: string, changes: IdentityChanges): Promise<Identity>;
  remove(sid: string, options?: { pin?: string }): Promise<Identity>;
  /** Locks a PIN-protected identity until its PIN is given again. */
  lock(sid: string): Promise<Identity>;
  /** Adds the identities of a keyring dump (Serval's text format); the i-th PIN protects the i-th. Control socket only. */
  load(dump: Uint8Array | string, options?: { pins?: readonly string[] }): Promise<Identity[]>;
}

const identityOf = (result: { identity?: unknown }): Identity => result.identity as Identity;

export function keyringApi(core: Core): KeyringApi {
  const { api } = core;
  const sidPath = (sid: string) => ({ path: { sid } });
  return {
    async list(options = {}) {
      const table = await ok(api.GET('/restful/keyring/identities.json', { params: { query: { pin: options.pin } } }));
      return tableObjects<Identity>(table);
    },
    async get(sid, options = {}) {
      return identityOf(await ok(api.GET('/restful/keyring/{sid}', { params: { ...sidPath(sid), query: { pin: options.pin } } })));
    },
    async add(options = {}) {
      return identityOf(await ok(api.POST('/restful/keyring/add', { params: { query: { pin: options.pin, did: options.did, name: options.name } } })));
    },
    async set(sid, changes) {
      const query = { pin: changes.pin, did: changes.did, name: changes.name };
      return identityOf(await ok(api.PATCH('/restful/keyring/{sid}', { params: { ...sidPath(sid), query } })));
    },
    async remove(sid, options = {}) {
      return identityOf(await ok(api.DELETE('/restful/keyring/{sid}', { params: { ...sidPath(sid), query: { pin: options.pin } } })));
    },
    async lock(sid) {
      return identityOf(await ok(api.PUT('/restful/keyring/{sid}/lock', { params: sidPath(sid) })));
    },
    async load(dump, options = {}) {
      const query = queryString((options.pins ?? []).map((pin) => ['pin', pin] as const));
      const response = await postForm(core, `/control/keyring/load${query}`, [{ name: 'dump', body: dump }]);
      if (response.status !== 201) throw await apiErrorOf(response);
      return ((await response.json()) as { identities: Identity[] }).identities;
    },
  };
}
