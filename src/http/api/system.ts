/**
 * GET /restful/system: the host facts RaspAP's /system reports, and the node's own. Nothing in it
 * is a secret: no keys, no credentials, no token, no SID of a locked identity.
 */
import type { EventLoopDelay } from '../../services/system/event-loop.js';
import type { SecurityCounters } from '../../services/guard/counters.js';
import type { HostFacts } from '../../services/system/host.js';
import type { SyncCounters } from '../../services/sync/types.js';
import { jsonResult, type Handler } from '../types.js';

export interface NodeFacts {
  readonly version: string;
  readonly instance: string;
  readonly startedAt: string;
  readonly bundles: number;
  readonly storeBytes: number;
  readonly unlockedIdentities: number;
  readonly webServers: ReadonlyArray<{ readonly mode: string; readonly url: string; readonly dedicated: boolean; readonly serve: readonly string[] }>;
  readonly eventLoopDelay: EventLoopDelay;
  readonly sync: SyncCounters;
  readonly security: SecurityFacts;
}

/** Refusals and what the admission control holds (src/services/guard/counters.ts). */
export interface SecurityFacts extends Readonly<SecurityCounters> {
  readonly connections: number;
  readonly longPolls: number;
  /** Client addresses with connections or forwarded requests open. */
  readonly clients: number;
  /** Client addresses, users and credentials that must wait out their failures now. */
  readonly waitingClients: number;
  readonly pinDerivationsWaiting: number;
}

export function systemHandler(host: () => HostFacts, node: () => Promise<NodeFacts>): Handler {
  return async () => {
    const h = host();
    const n = await node();
    return jsonResult(200, 'OK', [
      [
        'system',
        {
          hostname: h.hostname,
          uptime: h.uptime,
          uptime_seconds: h.uptimeSeconds,
          systime: h.systemTime,
          used_memory_percent: h.usedMemoryPercent,
          used_disk_percent: h.usedDiskPercent,
          processor_count: h.processorCount,
          load_average_1min: h.loadAverage1Min,
          system_load_percent: h.systemLoadPercent,
          temperature_celsius: h.temperatureCelsius,
          operating_system: h.operatingSystem,
          kernel_version: h.kernelVersion,
        },
      ],
      [
        'node',
        {
          version: n.version,
          instance: n.instance,
          started_at: n.startedAt,
          bundles: n.bundles,
          store_bytes: n.storeBytes,
          unlocked_identities: n.unlockedIdentities,
          web_servers: n.webServers.map((s) => ({ mode: s.mode, url: s.url, dedicated: s.dedicated, serve: s.serve })),
          event_loop_delay: {
            window_seconds: n.eventLoopDelay.windowSeconds,
            mean_ms: n.eventLoopDelay.meanMs,
            p50_ms: n.eventLoopDelay.p50Ms,
            p99_ms: n.eventLoopDelay.p99Ms,
            max_ms: n.eventLoopDelay.maxMs,
          },
          sync: {
            peers_configured: n.sync.peersConfigured,
            links_up: n.sync.linksUp,
            bundles_in: n.sync.bundlesIn,
            bundles_out: n.sync.bundlesOut,
            bytes_in: n.sync.bytesIn,
            bytes_out: n.sync.bytesOut,
            sessions: n.sync.sessions,
            rejected: n.sync.rejected,
          },
          security: {
            wrong_pins: n.security.wrongPins,
            pin_attempts_refused: n.security.pinRefusals,
            pin_derivations_waiting: n.security.pinDerivationsWaiting,
            failed_authentications: n.security.authFailures,
            authentications_refused: n.security.authRefusals,
            waiting_clients: n.security.waitingClients,
            connections: n.security.connections,
            connections_refused: n.security.connectionsRefused,
            clients: n.security.clients,
            long_polls: n.security.longPolls,
            long_polls_refused: n.security.longPollsRefused,
          },
        },
      ],
    ]);
  };
}
