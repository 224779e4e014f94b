/**
 * The Tendril client: one object with the whole API, typed from the node's own OpenAPI document
 * (src/client/generated/api.ts), for browsers and Node alike. `api` is the raw typed client
 * (openapi-fetch) for anything the helpers do not cover.
 */
import { configApi, tokensApi, type ConfigApi, type TokensApi } from './control.js';
import { directApi, type DirectApi } from './direct.js';
import { get, makeCore, ok, type Api, type Credentials } from './core.js';
import { apiErrorOf } from './errors.js';
import type { components } from './generated/api.js';
import { keyringApi, type KeyringApi } from './keyring.js';
import { meshmbApi, meshmsApi, type MeshmbApi, type MeshmsApi } from './messaging.js';
import { rhizomeApi, type RhizomeApi } from './rhizome.js';
import { syncApi, type SyncApi } from './sync.js';
import { fetchTransport, type Transport } from './transport.js';

export type SystemStatus = components['schemas']['SystemStatus'];

export interface ClientOptions {
  /** The node's URL, e.g. `http://127.0.0.1:4110`; '' (the default) is the page's own origin. */
  readonly baseUrl?: string;
  /** How to reach the node (default: fetch and XMLHttpRequest to baseUrl); see src/client/node.ts for Node. */
  readonly transport?: Transport;
  readonly credentials?: Credentials;
}

export interface TendrilClient {
  readonly api: Api;
  readonly keyring: KeyringApi;
  readonly rhizome: RhizomeApi;
  readonly meshms: MeshmsApi;
  readonly meshmb: MeshmbApi;
  /** Tendril sync: peers, totals, routes. */
  readonly sync: SyncApi;
  /** A user of the node (HTTP Basic, the control socket), not a token. */
  readonly tokens: TokensApi;
  /** Control socket only. */
  readonly config: ConfigApi;
  /** Control socket only: Rhizome Direct with peers, run by the node. */
  readonly direct: DirectApi;
  /** Host and node status (GET /restful/system). */
  system(): Promise<SystemStatus>;
  /** True when the node answers its health check (GET /healthz). */
  healthy(): Promise<boolean>;
  /** The Prometheus text of GET /metrics. */
  metrics(): Promise<string>;
  /** Releases the transport's kept-alive connections. */
  close(): void;
}

export function createClient(options: ClientOptions = {}): TendrilClient {
  const transport = options.transport ?? fetchTransport({ baseUrl: options.baseUrl ?? '' });
  const core = makeCore(transport, options.credentials);
  const system = (): Promise<SystemStatus> => ok<SystemStatus>(core.api.GET('/restful/system'));
  return {
    api: core.api,
    keyring: keyringApi(core),
    rhizome: rhizomeApi(core),
    meshms: meshmsApi(core),
    meshmb: meshmbApi(core),
    sync: syncApi(core, system),
    tokens: tokensApi(core),
    config: configApi(core),
    direct: directApi(core),
    system,
    async healthy() {
      try {
        const response = await get(core, '/healthz');
        await response.arrayBuffer();
        return response.ok;
      } catch {
        return false;
      }
    },
    async metrics() {
      const response = await get(core, '/metrics');
      if (!response.ok) throw await apiErrorOf(response);
      return response.text();
    },
    close: () => transport.close(),
  };
}
