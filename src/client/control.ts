/**
 * API tokens, which users of the node manage (HTTP Basic, or the owner-only control socket; an API
 * token gets 403), and applying the configuration file, which only the control socket serves
 * (over TCP that path does not exist: 404).
 */
import { ok, type Core } from './core.js';
import type { TokenInfo } from './rows.js';
import { tableObjects } from './table.js';

export interface NewToken {
  /** The secret `tdk1_…`: shown once, never stored by the node. */
  readonly token: string;
  readonly info: TokenInfo;
}

export interface TokensApi {
  /** `expires`: a lifetime with its unit, e.g. `30m`, `12h`, `90d`, `2w`. */
  generate(options?: { name?: string; expires?: string; readOnly?: boolean }): Promise<NewToken>;
  list(): Promise<TokenInfo[]>;
  revoke(id: string): Promise<TokenInfo>;
}

export interface ConfigApi {
  /** Applies the configuration file in the running node; resolves once it has. */
  reload(): Promise<void>;
}

export function tokensApi(core: Core): TokensApi {
  const { api } = core;
  return {
    async generate(options = {}) {
      const query = { name: options.name, expires: options.expires, read_only: options.readOnly ? '1' : undefined };
      return (await ok(api.POST('/restful/tokens', { params: { query } }))) as unknown as NewToken;
    },
    async list() {
      return tableObjects<TokenInfo>(await ok(api.GET('/restful/tokens')));
    },
    async revoke(id) {
      const result = (await ok(api.DELETE('/restful/tokens/{id}', { params: { path: { id } } }))) as unknown as { info: TokenInfo };
      return result.info;
    },
  };
}

export function configApi(core: Core): ConfigApi {
  return {
    async reload() {
      await ok(core.api.POST('/control/config/reload'));
    },
  };
}
