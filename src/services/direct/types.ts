/**
 * Rhizome Direct, the reference's node-to-node sync over HTTP (rhizome_direct*.c): what the node
 * answers as a server (enquiry, manifest by prefix, payload by hash; imports go through the
 * Rhizome service's import session) and what it does as a client (push, pull, sync with a peer).
 */
import type { Readable } from 'node:stream';
import type { RhizomeStore } from '../../store/rhizome/types.js';
import type { ImportSession, RhizomeReply } from '../rhizome/types.js';

/** The store as Rhizome Direct uses it. */
export type DirectStore = Pick<RhizomeStore, 'barsInRange' | 'findByBidPrefix' | 'get' | 'bundleCount' | 'payloadLength' | 'readPayload'>;

/** How bundles enter the store: the Rhizome service's import, with all its checks. */
export type BeginImport = () => Promise<ImportSession | RhizomeReply>;

export type DirectMode = 'push' | 'pull' | 'sync';

/** What one sync with one peer did, and what it cost on the wire. */
export interface DirectSummary {
  readonly peer: string;
  readonly mode: DirectMode;
  /** Bundles the peer stored from us (201). */
  readonly sent: number;
  /** Bundles we stored from the peer. */
  readonly received: number;
  /** Offered or asked for, but not needed after all (already held, older, no room). */
  readonly skipped: number;
  /** Transfers that failed (refused as invalid, cut off, unreadable). */
  readonly failed: number;
  /** Set when the sync stopped early (peer unreachable, refused the enquiry, cancelled). */
  readonly error?: string;
  readonly stats: DirectStats;
}

export interface DirectStats {
  /** HTTP requests made (each a round trip; the reference opens a connection for each). */
  readonly roundTrips: number;
  readonly enquiries: number;
  /** BARs sent in enquiries. */
  readonly bars: number;
  /** Bytes written to and read from the peer's sockets, HTTP headers included. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly durationMs: number;
}

/** Progress while a sync runs. */
export interface DirectProgress {
  readonly peer: string;
  /** Local bundles compared so far (BARs sent), of `total`. */
  readonly compared: number;
  readonly total: number;
  readonly sent: number;
  readonly received: number;
  readonly skipped: number;
  readonly failed: number;
}

export interface DirectSyncOptions {
  /** `http://host[:port]`, `https://…` (Tendril peers), or `host[:port]`; port 4110 by default. */
  readonly url: string;
  readonly mode: DirectMode;
  readonly onProgress?: (progress: DirectProgress) => void;
  readonly signal?: AbortSignal;
  /** How long the peer may stay silent during one request (default 30 s). */
  readonly idleTimeoutMs?: number;
}

/** An opened payload of the store: its length and bytes [start, end). */
export interface DirectPayload {
  readonly length: number;
  open(start: number, end: number): Promise<Readable | undefined>;
}

export interface DirectService {
  /** The answer to an enquiry's data (10 to 65,536 bytes; see enquiry.ts). */
  enquiry(data: Buffer): Promise<Buffer>;
  /** The signed manifest of the bundle whose BID starts with `prefix`. */
  manifestByPrefix(prefix: Buffer): Promise<Buffer | undefined>;
  /** The stored payload with this SHA-512, if held. */
  payload(hash: Buffer): Promise<DirectPayload | undefined>;
  /** An import as Rhizome Direct receives it. */
  beginImport: BeginImport;
  /** Push, pull or sync with one peer. Resolves with the summary, also when it stopped early. */
  sync(options: DirectSyncOptions): Promise<DirectSummary>;
}
