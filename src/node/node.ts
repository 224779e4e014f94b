/**
 * The node: services wired together in one place and started in dependency order, stopped in
 * reverse (STYLE: services behind interfaces, wired in one place, one lifecycle).
 *
 * A node serves its API on a TCP listener (unless `tcp` is false, as for one-shot CLI commands)
 * and always on the owner-only control socket, through which the CLI reaches a running node.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Config } from '../config/config.js';
import { DEFAULT_PIN_KEY_PARAMS, type PinKeyParams } from '../crypto/pin-key.js';
import { basicAuthenticator, openAuthenticator, type AccessPolicy } from '../http/access.js';
import { closeServer, createHttpServer, listenFirstFree, listenUnix } from '../http/listener.js';
import { createPipeline } from '../http/pipeline.js';
import { Router, type Family } from '../http/router.js';
import { buildRoutes } from '../http/routes.js';
import type { Logger } from '../log.js';
import { openKeyring } from '../services/keyring/keyring.js';
import type { KeyringService } from '../services/keyring/types.js';
import { createRhizomeService } from '../services/rhizome/service.js';
import { createMeshmbService } from '../services/meshmb/service.js';
import { createMeshmsService } from '../services/meshms/service.js';
import type { RhizomeService } from '../services/rhizome/types.js';
import { openRhizomeStore } from '../store/rhizome/open.js';
import { VERSION } from '../version.js';
import { ensureInstanceDirs, type InstancePaths } from './instance.js';
import { acquirePidLock } from './pid-lock.js';

export interface NodeOptions {
  readonly paths: InstancePaths;
  /** The current config; read again on every request that depends on it, so it may change. */
  readonly config: () => Config;
  readonly log: Logger;
  /** Serve the API on TCP (default true). */
  readonly tcp?: boolean;
  /** Overrides rhizome.http.port. */
  readonly port?: number;
  /** TCP address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Cost of the PIN key derivation (tests use the cheapest). */
  readonly pinKeyParams?: PinKeyParams;
  /** Pretend the disk has this many free bytes (TENDRIL_FREE_SPACE), for store-limit tests. */
  readonly freeSpaceOverride?: number;
}

export interface NodeState {
  readonly pid: number;
  readonly version: string;
  readonly instance: string;
  readonly urls: readonly string[];
  readonly controlSocket: string;
  readonly startedAt: string;
}

export interface RunningNode {
  readonly state: NodeState;
  /** The TCP port, or undefined without a TCP listener. */
  readonly port: number | undefined;
  readonly keyring: KeyringService;
  readonly rhizome: RhizomeService;
  stop(): Promise<void>;
}

export const SERVER_HEADER = `tendril/${VERSION}`;

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { paths, log, config } = options;
  ensureInstanceDirs(paths);
  const release = acquirePidLock(paths.pidFile);
  const stops: Array<() => Promise<void> | void> = [release];
  const stop = async (): Promise<void> => {
    for (const fn of stops.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.error({ err }, 'error while stopping');
      }
    }
    stops.length = 0;
  };

  try {
    const keyring = await openKeyring({
      path: paths.keyringFile,
      kdf: options.pinKeyParams ?? DEFAULT_PIN_KEY_PARAMS,
      log: log.child({ service: 'keyring' }),
      owner: true,
    });
    const store = openRhizomeStore({
      dir: paths.storeDir,
      databaseSize: config().rhizome.databaseSize,
      minFreeSpace: config().rhizome.minFreeSpace,
      maxBlobSize: config().rhizome.maxBlobSize,
      freeSpaceOverride: options.freeSpaceOverride,
    });
    stops.push(() => store.close());
    const rhizome = createRhizomeService({ store, keyring, log: log.child({ service: 'rhizome' }) });
    const meshmb = createMeshmbService({
      rhizome,
      keyring,
      log: log.child({ service: 'meshmb' }),
      reliableClock: () => config().rhizome.reliableClock,
    });
    const meshms = createMeshmsService({
      rhizome,
      keyring,
      log: log.child({ service: 'meshms' }),
      reliableClock: () => config().rhizome.reliableClock,
    });
    const router = new Router(
      buildRoutes({ keyring, rhizome, meshmb, meshms, newsinceTimeoutMs: () => config().api.restful.newsinceTimeoutMs }),
    );
    const familyEnabled = (family: Family): boolean =>
      !family.needsRhizome || (config().rhizome.enable && config().rhizome.httpEnable);

    const servers: Server[] = [];
    const serve = async (server: Server, listen: (s: Server) => Promise<unknown>): Promise<void> => {
      await listen(server);
      servers.push(server);
      stops.push(() => closeServer(server));
    };

    const controlPolicy: AccessPolicy = { localOnly: false, cors: 'local', authenticator: openAuthenticator('local') };
    const control = createPipeline({
      router,
      policy: controlPolicy,
      log: log.child({ listener: 'control' }),
      serverHeader: SERVER_HEADER,
      familyEnabled,
      control: true,
    });
    await serve(createHttpServer(control, log, SERVER_HEADER), (s) => listenUnix(s, paths.controlSocket));

    let port: number | undefined;
    const urls: string[] = [];
    if (options.tcp !== false) {
      const host = options.host ?? '127.0.0.1';
      const basic = basicAuthenticator(() => config().api.restful.users);
      const open = openAuthenticator('anonymous');
      const policy: AccessPolicy = {
        localOnly: true,
        cors: 'local',
        authenticator: {
          authenticate: (credentials) =>
            (config().api.restful.authorization === 'noauth' ? open : basic).authenticate(credentials),
        },
      };
      const api = createPipeline({ router, policy, log, serverHeader: SERVER_HEADER, familyEnabled });
      const server = createHttpServer(api, log, SERVER_HEADER);
      await serve(server, async (s) => {
        port = await listenFirstFree(s, host, options.port ?? config().rhizome.port);
      });
      urls.push(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
      writeFileSync(paths.portFile, `${port}\n`);
    }

    const state: NodeState = {
      pid: process.pid,
      version: VERSION,
      instance: paths.root,
      urls,
      controlSocket: paths.controlSocket,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    stops.push(() => {
      for (const file of [paths.stateFile, paths.portFile, paths.controlSocket]) {
        if (existsSync(file)) rmSync(file);
      }
    });
    log.info({ urls, controlSocket: paths.controlSocket, version: VERSION }, 'node started');
    return { state, port, keyring, rhizome, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
