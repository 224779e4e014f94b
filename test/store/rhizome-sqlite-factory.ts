/**
 * The SQLite backend for the shared store suite (suite/index.ts): each location is a temporary
 * directory; what the backend holds is read and damaged through a second connection and the
 * payload files themselves.
 */
/* eslint-disable @typescript-eslint/require-await -- a local file answers at once; the contract is asynchronous */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StoreFactory, StoreLocation } from './suite/index.js';
import { openTestStore, payloadFiles, tempDir } from './rhizome-helpers.js';

export const sqliteFactory: StoreFactory = {
  backend: 'sqlite',
  localDisk: true,
  async location(defaults = {}): Promise<StoreLocation> {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    const withDb = <T>(use: (db: Database.Database) => T): T => {
      const db = new Database(join(storeDir, 'rhizome.db'));
      try {
        return use(db);
      } finally {
        db.close();
      }
    };
    const filePath = (hex: string): string => join(storeDir, 'payloads', hex.slice(0, 2), hex);
    return {
      open: (options = {}) => openTestStore(dir, { ...defaults, ...options }),
      async heldPayloads() {
        // Inline rows and payload files: an external row without its file is not held, a file
        // without its row is an orphan, and both show.
        const inline = withDb((db) => db.prepare<[], { hash: Buffer }>('SELECT hash FROM payloads WHERE data IS NOT NULL').all());
        return [...inline.map((r) => r.hash.toString('hex')), ...payloadFiles(storeDir)].sort();
      },
      async damagePayload(hash, offset) {
        const hex = hash.toString('hex');
        const row = withDb((db) => db.prepare<[Buffer], { data: Buffer | null }>('SELECT data FROM payloads WHERE hash = ?').get(hash));
        if (row === undefined) throw new Error(`payload ${hex} not held`);
        const bytes = row.data ?? readFileSync(filePath(hex));
        bytes[offset] = bytes[offset]! ^ 0xff;
        if (row.data === null) writeFileSync(filePath(hex), bytes);
        else withDb((db) => db.prepare('UPDATE payloads SET data = ? WHERE hash = ?').run(bytes, hash));
      },
      async dropPayload(hash) {
        withDb((db) => db.prepare('DELETE FROM payloads WHERE hash = ?').run(hash));
      },
      async cleanup() {
        cleanup();
      },
    };
  },
};
