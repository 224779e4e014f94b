/**
 * Keyring REST handlers (spec §2). Each returns a value; the route table binds them to paths.
 */
import { fail, type JsonValue } from '../../errors.js';
import { parseKeyringDump } from '../../formats/keyring-dump.js';
import type { Identity, KeyringService } from '../../services/keyring/types.js';
import { checkDid, checkName } from '../../services/keyring/validate.js';
import { readFormParts } from '../form.js';
import type { PinGuard } from '../pin-guard.js';
import { jsonValue, RenderedRow } from '../json.js';
import { jsonResult, type Handler, type JsonResult, type RequestContext, type Result } from '../types.js';

/** The identity object of single-identity results (spec §2.2): did and name only with a record. */
export function identityJson(identity: Identity): JsonValue {
  return {
    sid: identity.sidHex,
    identity: identity.signingIdHex,
    did: identity.did,
    name: identity.name,
  };
}

function identityResult(status: number, reason: string, identity: Identity): JsonResult {
  return jsonResult(status, reason, [['identity', identityJson(identity)]]);
}

export interface KeyringHandlers {
  readonly list: Handler;
  readonly add: Handler;
  readonly get: Handler;
  readonly update: Handler;
  readonly remove: Handler;
  readonly lock: Handler;
  readonly load: Handler;
}

export function keyringHandlers(keyring: KeyringService, pins: PinGuard): KeyringHandlers {
  /**
   * Supplying `pin` to any keyring request but lock unlocks what it opens (spec §2.1), for every
   * client of the node: so only credentials that may write may unlock (a read-only token would
   * otherwise change what everyone sees). Attempts go through the PIN guard (limits and turns).
   * Without a PIN the handler runs synchronously: listing is the hottest path of the API.
   */
  const unlock = (ctx: RequestContext): Promise<void> | undefined => {
    const pin = ctx.queryValue('pin');
    if (pin === undefined) return undefined;
    if (!ctx.principal.canWrite) fail('ACCESS_READ_ONLY_UNLOCK', { why: `read-only credentials ${ctx.principal.id} sent a PIN` });
    return pins.unlock(ctx.principal, ctx.client, () => keyring.enterPin(pin));
  };
  const withPin = (ctx: RequestContext, then: () => Result): Result | Promise<Result> => {
    const unlocking = unlock(ctx);
    return unlocking ? unlocking.then(then) : then();
  };

  // Identities are immutable, so each one's row is rendered once.
  const rows = new WeakMap<Identity, RenderedRow>();
  const rowOf = (i: Identity): RenderedRow => {
    let row = rows.get(i);
    if (!row) {
      row = new RenderedRow(jsonValue([i.sidHex, i.signingIdHex, i.did ?? null, i.name ?? null]));
      rows.set(i, row);
    }
    return row;
  };

  return {
    list(ctx) {
      return withPin(ctx, () => ({
        kind: 'table',
        columns: ['sid', 'identity', 'did', 'name'],
        rows: keyring.list().map(rowOf),
      }));
    },

    async add(ctx) {
      const identity = await keyring.add({
        pin: ctx.queryValue('pin'),
        did: ctx.queryValue('did'),
        name: ctx.queryValue('name'),
      });
      return identityResult(201, 'Identity added', identity);
    },

    get(ctx) {
      return withPin(ctx, () => {
        const identity = keyring.find(ctx.params.sid!);
        return identity ? identityResult(200, 'OK', identity) : jsonResult(404, 'Identity not found');
      });
    },

    async update(ctx) {
      // The reference validates DID and Name before it uses the PIN (spec §9.2 #15).
      const did = ctx.queryValue('did');
      const name = ctx.queryValue('name');
      if (did !== undefined) checkDid(did);
      if (name !== undefined) checkName(name);
      await unlock(ctx);
      return identityResult(200, 'Identity updated', await keyring.update(ctx.params.sid!, { did, name }));
    },

    async remove(ctx) {
      await unlock(ctx);
      return identityResult(200, 'Identity removed', await keyring.remove(ctx.params.sid!));
    },

    lock(ctx) {
      return identityResult(200, 'Identity locked', keyring.lock(ctx.params.sid!));
    },

    /** Control socket only: loads a reference `keyring dump --secret` (form part `dump`). */
    async load(ctx) {
      const parts = await readFormParts(ctx, { dump: { maxBytes: 4 * 1024 * 1024 } });
      const dump = parts.get('dump');
      const pins = ctx.query.filter((p) => p.name === 'pin').map((p) => p.value);
      const added = await keyring.load(parseKeyringDump(dump ?? Buffer.alloc(0)), pins);
      return jsonResult(201, 'Identities loaded', [['identities', added.map(identityJson)]]);
    },
  };
}
