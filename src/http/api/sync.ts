/**
 * Tendril sync over HTTP: the link endpoint other nodes open (`POST /sync/v1/link`, docs/sync.md
 * §2), the peers' status (`GET /restful/sync/peers.json`) and the routing table
 * (`GET /restful/route/all.json`, spec §6.1).
 */
import type { JsonValue } from '../../errors.js';
import { SYNC_CONTENT_TYPE } from '../../services/sync/dialer.js';
import type { PeerStatus, SyncService } from '../../services/sync/types.js';
import { chunksOf } from '../../services/sync/chunks.js';
import type { Handler, JsonTable } from '../types.js';

export interface SyncHandlers {
  readonly link: Handler;
  readonly peers: Handler;
  readonly routes: Handler;
}

export const PEER_COLUMNS = [
  'address',
  'direction',
  'node',
  'state',
  'last_contact',
  'connected_since',
  'bundles_in',
  'bundles_out',
  'bytes_in',
  'bytes_out',
  'wire_bytes_in',
  'wire_bytes_out',
  'lag_bundles',
  'lag_seconds',
  'rejected',
  'sessions',
  'last_session_messages',
  'last_error',
  'retry_at',
  'found',
] as const;

function peerRow(p: PeerStatus): JsonValue[] {
  return [
    p.address,
    p.direction,
    p.node ?? null,
    p.state,
    p.lastContact ?? null,
    p.connectedSince ?? null,
    p.bundlesIn,
    p.bundlesOut,
    p.bytesIn,
    p.bytesOut,
    p.wireBytesIn,
    p.wireBytesOut,
    p.lagBundles,
    p.lagSeconds,
    p.rejected,
    p.sessions,
    p.lastSessionMessages ?? null,
    p.lastError ?? null,
    p.retryAt ?? null,
    p.found,
  ];
}

const ROUTE_COLUMNS = [
  'sid',
  'did',
  'name',
  'is_self',
  'reachable_broadcast',
  'reachable_unicast',
  'reachable_indirect',
  'interface',
  'hop_count',
  'first_hop',
  'penultimate_hop',
];

const hex = (b: Buffer | undefined): string | null => (b === undefined ? null : b.toString('hex').toUpperCase());

export function syncHandlers(sync: SyncService): SyncHandlers {
  return {
    link(ctx) {
      ctx.body(); // sends 100 Continue if the client asked for it; the chunks are read off the request itself
      const body = sync.accept(chunksOf(ctx.req), { remote: ctx.client, canWrite: ctx.principal.canWrite }, () => ctx.req.destroy());
      return { kind: 'body', status: 200, contentType: SYNC_CONTENT_TYPE, body: () => body, length: undefined, live: true };
    },
    peers(): JsonTable {
      return { kind: 'table', columns: [...PEER_COLUMNS], rows: sync.peers().map(peerRow) };
    },
    routes(): JsonTable {
      const rows = sync.routes().map((r) => [
        hex(r.sid),
        r.did ?? null,
        r.name ?? null,
        r.isSelf,
        false,
        r.reachableUnicast,
        r.reachableIndirect,
        r.interfaceName ?? null,
        r.hopCount,
        hex(r.firstHop),
        hex(r.penultimateHop),
      ]);
      return { kind: 'table', columns: ROUTE_COLUMNS, rows };
    },
  };
}
