/**
 * Opening the Rhizome store with the backend the config names. Each backend lives in a folder
 * of its own behind the RhizomeStore contract (types.ts); this is the one place that knows them.
 */
import type { Logger } from '../../log.js';
import type { Database } from '../postgres/database.js';
import { openPostgresStore } from './postgres/store.js';
import { openSqliteStore } from './sqlite/open.js';
import type { RhizomeStore, StoreOptions } from './types.js';

/** SQLite in `dir` (the default), or a PostgreSQL database the node has opened. */
export type BackendOptions = { readonly backend?: 'sqlite' } | { readonly backend: 'postgres'; readonly database: Database; readonly log: Logger };

export async function openRhizomeStore(options: StoreOptions & BackendOptions): Promise<RhizomeStore> {
  if (options.backend === 'postgres') return openPostgresStore(options);
  return openSqliteStore(options);
}
