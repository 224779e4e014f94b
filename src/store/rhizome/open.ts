/**
 * Opening the Rhizome store with the backend the config names. Each backend lives in a folder
 * of its own behind the RhizomeStore contract (types.ts); this is the one place that knows them.
 */
import { openSqliteStore } from './sqlite/open.js';
import type { RhizomeStore, StoreOptions } from './types.js';

// eslint-disable-next-line @typescript-eslint/require-await -- a failure to open becomes a rejection
export async function openRhizomeStore(options: StoreOptions): Promise<RhizomeStore> {
  return openSqliteStore(options);
}
