/**
 * The rows of the API's lists, as objects keyed by the columns the node sends (kept verbatim, so
 * they match the REST documentation). Each column list is checked against a live node's header
 * by test/client/client.test.ts, so a column the node adds or renames fails a test here.
 */

export const IDENTITY_COLUMNS = ['sid', 'identity', 'did', 'name'] as const;
export interface Identity {
  /** 64 hex digits: the MeshMS address. */
  readonly sid: string;
  /** The Signing ID: 64 hex digits, the MeshMB feed ID. */
  readonly identity: string;
  readonly did: string | null;
  readonly name: string | null;
}

export const BUNDLE_COLUMNS = [
  '.token', '_id', 'service', 'id', 'version', 'date', '.inserttime', '.author', '.fromhere', 'filesize', 'filehash', 'sender', 'recipient', 'name',
] as const;
export interface Bundle {
  /** Present in newsince rows: where to continue from. */
  readonly '.token': string | null;
  readonly _id: number;
  readonly service: string | null;
  /** The bundle ID: 64 hex digits. */
  readonly id: string;
  readonly version: number;
  readonly date: number | null;
  readonly '.inserttime': number;
  readonly '.author': string | null;
  readonly '.fromhere': number;
  readonly filesize: number;
  readonly filehash: string | null;
  readonly sender: string | null;
  readonly recipient: string | null;
  readonly name: string | null;
}

export const CONVERSATION_COLUMNS = ['_id', 'my_sid', 'their_sid', 'read', 'last_message', 'read_offset'] as const;
export interface Conversation {
  readonly _id: number;
  readonly my_sid: string;
  readonly their_sid: string;
  readonly read: boolean;
  readonly last_message: number;
  readonly read_offset: number;
}

export const MESSAGE_COLUMNS = ['type', 'my_sid', 'their_sid', 'my_offset', 'their_offset', 'token', 'text', 'delivered', 'read', 'timestamp', 'ack_offset'] as const;
export interface Message {
  /** `>` sent, `<` received, `ACK` their acknowledgement of ours. */
  readonly type: '>' | '<' | 'ACK';
  readonly my_sid: string;
  readonly their_sid: string;
  readonly my_offset: number;
  readonly their_offset: number;
  readonly token: string;
  readonly text: string | null;
  readonly delivered: boolean;
  readonly read: boolean;
  readonly timestamp: number | null;
  readonly ack_offset: number | null;
}

export const FEED_MESSAGE_COLUMNS = ['offset', 'token', 'text', 'timestamp'] as const;
export interface FeedMessage {
  readonly offset: number;
  readonly token: string;
  readonly text: string;
  readonly timestamp: number | null;
}

export const FEED_COLUMNS = ['id', 'author', 'blocked', 'name', 'timestamp', 'last_message'] as const;
export interface Feed {
  readonly id: string;
  readonly author: string | null;
  readonly blocked: boolean;
  readonly name: string | null;
  readonly timestamp: number | null;
  readonly last_message: string | null;
}

export const ACTIVITY_COLUMNS = ['.token', 'ack_offset', 'id', 'author', 'name', 'timestamp', 'offset', 'message'] as const;
export interface Activity {
  readonly '.token': string;
  readonly ack_offset: number;
  readonly id: string;
  readonly author: string | null;
  readonly name: string | null;
  readonly timestamp: number | null;
  readonly offset: number;
  readonly message: string;
}

export const TOKEN_COLUMNS = ['id', 'name', 'created_at', 'expires_at', 'read_only'] as const;
export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly created_at: number;
  readonly expires_at: number | null;
  readonly read_only: boolean;
}

export const SYNC_PEER_COLUMNS = [
  'address', 'direction', 'node', 'state', 'last_contact', 'connected_since', 'bundles_in', 'bundles_out', 'bytes_in', 'bytes_out',
  'wire_bytes_in', 'wire_bytes_out', 'lag_bundles', 'lag_seconds', 'rejected', 'sessions', 'last_session_messages', 'last_error', 'retry_at', 'found',
] as const;
/** A row of GET /restful/sync/peers.json (docs/sync.md §10). */
export interface SyncPeer {
  /** The URL dialled, `node:ID` for a peer named by node id not found yet, or the remote address of a link another node opened. */
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  /** The peer's node id (32 hex digits), once known. */
  readonly node: string | null;
  readonly state: 'connecting' | 'reconciling' | 'transferring' | 'idle' | 'waiting' | 'closed' | 'discovered';
  /** Milliseconds since the epoch. */
  readonly last_contact: number | null;
  readonly connected_since: number | null;
  readonly bundles_in: number;
  readonly bundles_out: number;
  /** Payload bytes. */
  readonly bytes_in: number;
  readonly bytes_out: number;
  /** Every frame byte. */
  readonly wire_bytes_in: number;
  readonly wire_bytes_out: number;
  /** Bundles the peer has that are still to come here, and how long the oldest has waited. */
  readonly lag_bundles: number;
  readonly lag_seconds: number;
  readonly rejected: number;
  readonly sessions: number;
  readonly last_session_messages: number | null;
  readonly last_error: string | null;
  /** When a waiting dialler tries again (ms since the epoch). */
  readonly retry_at: number | null;
  /** `config` a configured URL, `mdns` found on the local network, `incoming` it opened the link. */
  readonly found: 'config' | 'mdns' | 'incoming';
}

export const ROUTE_COLUMNS = [
  'sid', 'did', 'name', 'is_self', 'reachable_broadcast', 'reachable_unicast', 'reachable_indirect', 'interface', 'hop_count', 'first_hop', 'penultimate_hop',
] as const;
/** A row of GET /restful/route/all.json (spec §6.1). */
export interface Route {
  readonly sid: string;
  readonly did: string | null;
  readonly name: string | null;
  readonly is_self: boolean;
  readonly reachable_broadcast: boolean;
  readonly reachable_unicast: boolean;
  readonly reachable_indirect: boolean;
  readonly interface: string | null;
  readonly hop_count: number;
  readonly first_hop: string | null;
  readonly penultimate_hop: string | null;
}
