/**
 * Looking behind a test node's Rhizome store, whichever backend it runs on (TENDRIL_TEST_STORE):
 * SQLite files in the instance directory, or the node's own PostgreSQL database. For API tests
 * that check what an insert left behind, or damage the store on purpose.
 */
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { readConfigFile } from '../../src/config/file.js';
import type { InstancePaths } from '../../src/node/instance.js';

export interface StoreInspector {
  /** Payload records (rows) the store holds. */
  payloadCount(): Promise<number>;
  /** Large payloads (files, or blobs of chunks), counted apart from the records. */
  largePayloadCount(): Promise<number>;
  /** Bytes the store counts against rhizome.database_size (spec §7.10). */
  usedBytes(): Promise<number>;
  /** Whether the store holds a payload with this hash. */
  holds(hash: Buffer): Promise<boolean>;
  /** Payloads being written (temporary files, or pending blobs): none once every request is done. */
  pendingUploads(): Promise<number>;
  /** Makes the store lose a payload behind its back (its file, or its record), the manifest kept. */
  losePayload(hash: Buffer): Promise<void>;
  close(): Promise<void>;
}

export function inspectStore(paths: InstancePaths): StoreInspector {
  const url = readConfigFile(paths.configFile).get('rhizome.store.url');
  const backend = readConfigFile(paths.configFile).get('rhizome.store.backend');
  return backend === 'postgres' && url !== undefined ? postgresInspector(url) : sqliteInspector(paths.storeDir);
}

function sqliteInspector(storeDir: string): StoreInspector {
  const withDb = <T>(use: (db: Database.Database) => T): T => {
    const db = new Database(join(storeDir, 'rhizome.db'));
    try {
      return use(db);
    } finally {
      db.close();
    }
  };
  /* eslint-disable @typescript-eslint/require-await -- local files answer at once */
  return {
    payloadCount: async () => withDb((db) => Number((db.prepare('SELECT count(*) AS n FROM payloads').get() as { n: number }).n)),
    largePayloadCount: async () => {
      const root = join(storeDir, 'payloads');
      return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
    },
    // Database pages in use plus payload files.
    usedBytes: async () =>
      withDb((db) => {
        const pages = Number(db.pragma('page_size', { simple: true })) * (Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true })));
        const files = db.prepare('SELECT coalesce(sum(length), 0) AS n FROM payloads WHERE data IS NULL').get() as { n: number };
        return pages + Number(files.n);
      }),
    holds: async (hash) => withDb((db) => db.prepare('SELECT 1 FROM payloads WHERE hash = ?').get(hash) !== undefined),
    pendingUploads: async () => readdirSync(join(storeDir, 'tmp')).length,
    losePayload: async (hash) => {
      const hex = hash.toString('hex');
      const file = join(storeDir, 'payloads', hex.slice(0, 2), hex);
      if (existsSync(file)) unlinkSync(file);
      else withDb((db) => db.prepare('DELETE FROM payloads WHERE hash = ?').run(hash));
    },
    close: async () => undefined,
  };
  /* eslint-enable @typescript-eslint/require-await */
}

function postgresInspector(url: string): StoreInspector {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  const count = async (rows: Promise<Array<{ n: string }>>): Promise<number> => Number((await rows)[0]?.n ?? 0);
  return {
    payloadCount: () => count(sql<Array<{ n: string }>>`SELECT count(*) AS n FROM rhizome_payloads`),
    largePayloadCount: () => count(sql<Array<{ n: string }>>`SELECT count(*) AS n FROM rhizome_blobs`),
    usedBytes: () => count(sql<Array<{ n: string }>>`SELECT bytes AS n FROM rhizome_usage`),
    holds: async (hash) => (await sql`SELECT 1 FROM rhizome_payloads WHERE hash = ${hash}`).length > 0,
    pendingUploads: () => count(sql<Array<{ n: string }>>`SELECT count(*) AS n FROM rhizome_blobs WHERE state = 0`),
    losePayload: async (hash) => {
      await sql`DELETE FROM rhizome_payloads WHERE hash = ${hash}`;
    },
    close: () => sql.end({ timeout: 1 }),
  };
}

/** Asserts that no upload outlived its request. */
export async function noPendingUploads(node: { readonly paths: InstancePaths }): Promise<void> {
  const store = inspectStore(node.paths);
  try {
    const pending = await store.pendingUploads();
    if (pending !== 0) throw new Error(`${pending} payload uploads outlived their requests`);
  } finally {
    await store.close();
  }
}
