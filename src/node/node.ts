/**
 * The node: services wired together in one place and started in dependency order, stopped in
 * reverse (STYLE: services behind interfaces, wired in one place, one lifecycle).
 *
 * A node serves its API on a TCP listener (unless `tcp` is false, as for one-shot CLI commands)
 * and always on the owner-only control socket, through which the CLI reaches a running node.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Config } from '../config/config.js';
import { DEFAULT_PIN_KEY_PARAMS, derivationsWaiting, type PinKeyParams } from '../crypto/pin-key.js';
import { anyOf, basicAuthenticator, openAuthenticator, tokenAuthenticator, type AccessPolicy } from '../http/access.js';
import { Admission } from '../http/admission.js';
import type { NodeFacts } from '../http/api/system.js';
import { createAuthGuard } from '../http/auth-guard.js';
import { createPinGuard } from '../http/pin-guard.js';
import { closeServer, createHttpServer, listenUnix } from '../http/listener.js';
import { createPipeline } from '../http/pipeline.js';
import { Router, type Family } from '../http/router.js';
import { buildRoutes } from '../http/routes.js';
import type { Logger } from '../log.js';
import { openKeyring } from '../services/keyring/keyring.js';
import type { KeyringService } from '../services/keyring/types.js';
import { createRhizomeService } from '../services/rhizome/service.js';
import { createDirectService } from '../services/direct/service.js';
import type { DirectService } from '../services/direct/types.js';
import { createMeshmbService } from '../services/meshmb/service.js';
import { createMeshmsService } from '../services/meshms/service.js';
import type { RhizomeService } from '../services/rhizome/types.js';
import { newSecurityCounters } from '../services/guard/counters.js';
import { Throttle, type ThrottleOptions } from '../services/guard/throttle.js';
import { createMetrics } from '../services/metrics/metrics.js';
import { monitorEventLoop } from '../services/system/event-loop.js';
import { hostFacts } from '../services/system/host.js';
import { openTokens } from '../services/tokens/tokens.js';
import type { TokenService } from '../services/tokens/types.js';
import { removeStaleTemporaries, writeFileAtomic } from '../store/atomic-file.js';
import { openDatabase, type Database } from '../store/postgres/database.js';
import { databaseKeyringStorage } from '../store/postgres/keyring.js';
import { databaseTokenStorage } from '../store/postgres/tokens.js';
import { openRhizomeStore } from '../store/rhizome/open.js';
import { createSyncService } from '../services/sync/service.js';
import { createMdnsDiscovery } from '../services/sync/discovery/mdns.js';
import type { AdvertisedServer } from '../services/sync/discovery/types.js';
import { syncStoreOf } from '../services/sync/store-view.js';
import { registerSyncMetrics } from '../services/sync/sync-metrics.js';
import type { SyncService } from '../services/sync/types.js';
import { acceptLinks } from '../web/link-node.js';
import { isServe } from '../web/modes.js';
import { embeddedPolicy, frontPolicy, serverRules, type Authenticators } from '../web/policy.js';
import { listenForSpec } from '../web/listen.js';
import { checkSpec, serverUrl, servesOf, type ServerSpec } from '../web/spec.js';
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
  /**
   * The web servers embedded in the node (`start --commands`, `web.commands`). Default: one
   * upstream server on `host`:`port`, the reference's own behaviour.
   */
  readonly servers?: readonly ServerSpec[];
  /** Overrides rhizome.http.port: the port of every server whose spec names none. */
  readonly port?: number;
  /** The default server's address (default 127.0.0.1). */
  readonly host?: string;
  /** Cost of the PIN key derivation (tests use the cheapest). */
  readonly pinKeyParams?: PinKeyParams;
  /** Pretend the disk has this many free bytes (TENDRIL_FREE_SPACE), for store-limit tests. */
  readonly freeSpaceOverride?: number;
  /** The delays paid for wrong PINs and failed authentications (tests shorten them). */
  readonly throttle?: ThrottleOptions;
  /** Applies the configuration file now (POST /control/config/reload); throws when it is invalid. */
  readonly reloadConfig?: () => void;
  /** Where the node's log goes (a file for `start --detach`), for `tendril status`; default stdout. */
  readonly logFile?: string;
}

export interface NodeState {
  readonly pid: number;
  readonly version: string;
  readonly instance: string;
  readonly urls: readonly string[];
  readonly controlSocket: string;
  readonly startedAt: string;
  /** The embedded web servers, with their modes and what they serve. */
  readonly webServers?: ReadonlyArray<{ readonly mode: string; readonly url: string; readonly serve: readonly string[] }>;
  /** The log file, or undefined when the log goes to standard output. */
  readonly logFile?: string;
}

export interface RunningNode {
  readonly state: NodeState;
  /** The TCP port, or undefined without a TCP listener. */
  readonly port: number | undefined;
  readonly keyring: KeyringService;
  readonly rhizome: RhizomeService;
  readonly tokens: TokenService;
  readonly sync: SyncService;
  /** The configuration changed (the CLI reloaded it): services that hold on to parts of it look again. */
  configChanged(): void;
  /** Rhizome Direct: the server's answers, and sync with a peer (the CLI's and benchmarks' way in). */
  readonly direct: DirectService;
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
    // rhizome.store.backend=postgres: the store, the keyring and the tokens live in one shared
    // database, so that several nodes pointed at it serve the same bundles and identities.
    const database = await openSharedDatabase(config(), log);
    if (database) stops.push(() => database.close());
    const keyring = await openKeyring({
      path: paths.keyringFile,
      storage: database && databaseKeyringStorage(database),
      kdf: options.pinKeyParams ?? DEFAULT_PIN_KEY_PARAMS,
      log: log.child({ service: 'keyring' }),
      owner: true,
    });
    stops.push(() => keyring.stop());
    const limits = {
      dir: paths.storeDir,
      databaseSize: config().rhizome.databaseSize,
      minFreeSpace: config().rhizome.minFreeSpace,
      maxBlobSize: config().rhizome.maxBlobSize,
      freeSpaceOverride: options.freeSpaceOverride,
    };
    const store = await openRhizomeStore(
      database ? { ...limits, backend: 'postgres', database, log: log.child({ service: 'rhizome-store' }) } : limits,
    );
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
    const direct = createDirectService({ store, beginImport: () => rhizome.beginImport(undefined, { carryMalformed: true }), log: log.child({ service: 'direct' }) });
    const tokens = await openTokens({
      path: paths.tokensFile,
      storage: database && databaseTokenStorage(database),
      log: log.child({ service: 'tokens' }),
    });
    stops.push(() => tokens.stop());
    // Sync dials its peers only in a node that serves (not one started for a single CLI command).
    const syncStore = syncStoreOf(store);
    const discovery = createMdnsDiscovery({ node: syncStore.uuid.toString('hex'), log: log.child({ service: 'sync-discovery' }) });
    const advertised: AdvertisedServer[] = [];
    const sync = createSyncService({
      store: syncStore,
      rhizome,
      keyring,
      dir: join(paths.root, 'sync'),
      peers: () => config().sync.peers,
      repairIntervalMs: () => config().sync.repairIntervalMs,
      discovery,
      discoveryEnabled: () => config().sync.discovery,
      dial: options.tcp !== false,
      software: SERVER_HEADER,
      log: log.child({ service: 'sync' }),
    });
    stops.push(() => sync.stop());
    const credentialed = anyOf(
      basicAuthenticator(() => config().api.restful.users),
      tokenAuthenticator(
        (token) => tokens.check(token),
        (token) => tokens.explain(token),
      ),
    );
    const anonymous = openAuthenticator('anonymous');
    // Wrong PINs and failed authentications, paid for with growing delays; connections and
    // long-polls within limits; the figures of both in /restful/system.
    const counters = newSecurityCounters();
    const throttle = new Throttle(options.throttle);
    const guardLog = log.child({ service: 'guard' });
    const admission = new Admission(() => config().api.restful.limits, counters);
    const auth: Authenticators = {
      strict: credentialed,
      configured: {
        authenticate: (c) => (config().api.restful.authorization === 'noauth' ? anonymous : credentialed).authenticate(c),
        refusal: (c) => credentialed.refusal?.(c),
      },
      guard: createAuthGuard(throttle, counters, guardLog),
    };

    // Web servers: the node's own, and dedicated ones attached through the control socket.
    const webServers: Array<{ mode: string; url: string; dedicated: boolean; serve: readonly string[] }> = [];
    let attached: () => ReadonlyArray<{ mode: string; url: string; serve: readonly string[] }> = () => [];
    const startedAt = new Date().toISOString();
    const eventLoop = monitorEventLoop();
    stops.push(() => eventLoop.stop());
    const nodeFacts = async (): Promise<NodeFacts> => {
      const [{ bundles, bytes }, store] = await Promise.all([rhizome.stats(), rhizome.facts()]);
      return {
        version: VERSION,
        instance: paths.root,
        startedAt,
        bundles,
        storeBytes: bytes,
        unlockedIdentities: keyring.list().length,
        store,
        webServers: [...webServers, ...attached().map((d) => ({ mode: d.mode, url: d.url, dedicated: true, serve: d.serve }))],
        eventLoopDelay: eventLoop.delay(),
        sync: sync.counters(),
        security: { ...counters, ...admission.stats(), waitingClients: throttle.stats().waiting, pinDerivationsWaiting: derivationsWaiting() },
      };
    };

    // The metrics registry: services that have figures of their own register them on
    // metrics.registry (prom-client), as the Rhizome and keyring figures are read here.
    const metrics = config().metrics.enable
      ? createMetrics({ version: VERSION, bundles: () => rhizome.stats(), unlockedIdentities: () => keyring.list().length })
      : undefined;
    if (metrics) stops.push(() => metrics.stop());
    if (metrics) registerSyncMetrics(metrics.registry, sync);

    const router = new Router(
      buildRoutes({
        keyring,
        rhizome,
        meshmb,
        meshms,
        tokens,
        pins: createPinGuard(throttle, counters, guardLog),
        newsinceTimeoutMs: () => config().api.restful.newsinceTimeoutMs,
        hostFacts: () => hostFacts(paths.storeDir),
        nodeFacts,
        sync,
        reloadConfig: options.reloadConfig,
        metrics,
        direct,
        directPeers: () => config().rhizome.directPeers,
      }),
    );
    const configured = (family: Family): boolean =>
      !family.needsRhizome || (config().rhizome.enable && config().rhizome.httpEnable);
    // A family is found on a server only if the server serves it (--serve); the owner's own
    // requests on the control socket reach everything.
    const servedBy =
      (serves: readonly string[]) =>
      (family: Family): boolean =>
        configured(family) && (family.serve === 'any' || serves.includes(family.serve ?? 'api'));

    const serve = async (server: Server, listen: (s: Server) => Promise<unknown>): Promise<void> => {
      await listen(server);
      stops.push(() => closeServer(server));
    };

    // The control socket trusts its owner. (No browser reaches it, so the owner may use every form
    // the API has, legacy GETs included.)
    const local: AccessPolicy = { localOnly: false, cors: 'local', getWrites: true, authenticator: openAuthenticator('local') };
    const control = createPipeline({
      router,
      policy: local,
      log: log.child({ listener: 'control' }),
      serverHeader: SERVER_HEADER,
      control: true,
      familyEnabled: configured,
      admission,
      observer: metrics,
    });
    const controlServer = createHttpServer(control, log, SERVER_HEADER);
    // Dedicated web servers attach there too, and their clients' connections are served by a
    // server of the node's own with the rules of their mode (src/web/link-node.ts).
    const links = acceptLinks(controlServer, {
      serverFor: (hello) =>
        createHttpServer(
          createPipeline({
            router,
            policy: frontPolicy(hello, auth),
            log,
            serverHeader: SERVER_HEADER,
            familyEnabled: servedBy(hello.serve.filter(isServe)),
            admission,
            observer: metrics,
          }),
          log,
          SERVER_HEADER,
          undefined,
          admission,
        ),
      log,
    });
    attached = () => links.attached();
    await serve(controlServer, (s) => listenUnix(s, paths.controlSocket));
    stops.push(() => links.close());

    let port: number | undefined;
    if (options.tcp !== false) {
      const specs: readonly ServerSpec[] = options.servers ?? [{ mode: 'upstream', bind: options.host ?? '127.0.0.1', port: undefined, allowedOrigins: [] }];
      // Every spec is checked before anything listens: an impossible one stops the start.
      const checked = specs.map((spec) => ({ spec, tls: checkSpec(spec) }));
      for (const { spec, tls } of checked) {
        const pipeline = createPipeline({
          router,
          policy: embeddedPolicy(spec.mode, serverRules(spec, tls), auth),
          log,
          serverHeader: SERVER_HEADER,
          familyEnabled: servedBy(servesOf(spec)),
          admission,
          observer: metrics,
        });
        let listening = 0;
        await serve(createHttpServer(pipeline, log, SERVER_HEADER, tls, admission), async (s) => {
          // A port given explicitly (start --port) is that port or an error; only the configured
          // default searches upwards for a free one, as the reference's does.
          const exact = spec.port === undefined && options.port !== undefined ? { ...spec, port: options.port } : spec;
          listening = await listenForSpec(s, exact, config().rhizome.port);
        });
        port ??= listening;
        if (servesOf(spec).includes('sync')) advertised.push({ scheme: tls ? 'https' : 'http', bind: spec.bind, port: listening });
        webServers.push({ mode: spec.mode, url: serverUrl(spec, listening, tls !== undefined), dedicated: false, serve: servesOf(spec) });
      }
    }
    const urls = webServers.map((w) => w.url);
    discovery.advertise(advertised);

    const state: NodeState = {
      pid: process.pid,
      version: VERSION,
      instance: paths.root,
      urls,
      controlSocket: paths.controlSocket,
      startedAt,
      webServers: webServers.map((w) => ({ mode: w.mode, url: w.url, serve: w.serve })),
      logFile: options.logFile,
    };
    // Whole files, renamed into place: `tendril status` and scripts read them while the node
    // starts. The port file last: scripts and tests wait for it, and then read the state file.
    for (const file of [paths.stateFile, paths.portFile]) removeStaleTemporaries(file); // a killed node's
    writeFileAtomic(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    if (port !== undefined) writeFileAtomic(paths.portFile, `${port}\n`, 0o644);
    stops.push(() => {
      for (const file of [paths.stateFile, paths.portFile, paths.controlSocket]) {
        if (existsSync(file)) rmSync(file);
      }
    });
    log.info({ urls, controlSocket: paths.controlSocket, version: VERSION }, 'node started');
    return { state, port, keyring, rhizome, tokens, sync, direct, configChanged: () => sync.configChanged(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The shared database of rhizome.store.backend=postgres, or undefined for the SQLite store. */
async function openSharedDatabase(config: Config, log: Logger): Promise<Database | undefined> {
  const { backend, url } = config.rhizome.store;
  if (backend !== 'postgres' || url === undefined) return undefined;
  return openDatabase({ url, log: log.child({ service: 'database' }) });
}
