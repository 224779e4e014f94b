/**
 * Rhizome Direct from the owner's side (control socket only): `sync` asks the node to push, pull
 * or sync with peers (one URL, or the node's rhizome.direct.peer.N), and reads the node's live
 * table as it comes: progress rows while a peer is synced, then each peer's summary.
 */
import { okResponse, queryString, type Core } from './core.js';
import { readTableStream, rowObject } from './table.js';

export type DirectMode = 'push' | 'pull' | 'sync';

/** One row of the node's answer: `running` while it syncs with a peer, then `done` or `failed`. */
export interface DirectSyncRow {
  readonly peer: string;
  readonly state: 'running' | 'done' | 'failed';
  /** Local bundles compared so far (running), or in all (the summary). */
  readonly compared: number;
  /** Local bundles in all (running only). */
  readonly total: number | null;
  readonly sent: number;
  readonly received: number;
  readonly skipped: number;
  readonly failed: number;
  /** The summary's cost on the wire (null while running). */
  readonly round_trips: number | null;
  readonly bytes_sent: number | null;
  readonly bytes_received: number | null;
  /** Why a peer could not be synced. */
  readonly error: string | null;
}

export interface DirectApi {
  /** Resolves with each peer's summary; `onProgress` hears the running rows. */
  sync(mode: DirectMode, options?: { url?: string; onProgress?: (row: DirectSyncRow) => void; signal?: AbortSignal }): Promise<DirectSyncRow[]>;
}

export function directApi(core: Core): DirectApi {
  return {
    async sync(mode, options = {}) {
      const path = `/control/rhizome/direct/${mode}${queryString([['url', options.url]])}`;
      const request = new Request(core.transport.baseUrl + path, { method: 'POST', headers: core.auth, signal: options.signal });
      const response = await okResponse(await core.transport.fetch(request));
      const summaries: DirectSyncRow[] = [];
      let header: readonly string[] = [];
      for await (const event of readTableStream(response.body!)) {
        if (event.kind === 'head') {
          header = event.head.header;
          continue;
        }
        const row = rowObject<DirectSyncRow>(header, event.row);
        if (row.state === 'running') options.onProgress?.(row);
        else summaries.push(row);
      }
      return summaries;
    },
  };
}
