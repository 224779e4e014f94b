/**
 * The PostgreSQL backend for the shared store suite (suite/index.ts): each location is a new
 * database on the run's private server (test/helpers/postgres.ts); what the backend holds is read
 * and damaged with plain SQL beside the store.
 */
import { silentLogger } from '../../src/log.js';
import type { Database } from '../../src/store/postgres/database.js';
import { openRhizomeStore } from '../../src/store/rhizome/open.js';
import { CHUNK } from '../../src/store/rhizome/postgres/payload-writer.js';
import { Sweeper } from '../../src/store/rhizome/postgres/sweeper.js';
import { createTestDatabase, openTestDatabase } from '../helpers/postgres.js';
import type { StoreFactory, StoreLocation } from './suite/index.js';
import { storeOptions } from './rhizome-helpers.js';

export const postgresFactory: StoreFactory = {
  backend: 'postgres',
  localDisk: false,
  async location(defaults = {}): Promise<StoreLocation> {
    const database = await createTestDatabase();
    const opened: Database[] = [];
    const own = await openTestDatabase(database.url);
    opened.push(own);
    const sql = own.sql;
    return {
      async open(options = {}) {
        const db = await openTestDatabase(database.url);
        opened.push(db);
        return openRhizomeStore({ ...storeOptions('/nonexistent', { ...defaults, ...options }), backend: 'postgres', database: db, log: silentLogger() });
      },
      async heldPayloads() {
        // What the sweeper would delete does not count: only payloads, and blobs it must keep.
        const sweeper = new Sweeper(own, silentLogger());
        await sweeper.sweep();
        await sweeper.close();
        const payloads = await sql<Array<{ hash: Buffer }>>`SELECT hash FROM rhizome_payloads`;
        const blobs = await sql<Array<{ id: bigint }>>`SELECT id FROM rhizome_blobs WHERE state <> 1`;
        return [...payloads.map((p) => p.hash.toString('hex')), ...blobs.map((b) => `blob:${b.id}`)].sort();
      },
      async damagePayload(hash, offset) {
        const [row] = await sql<Array<{ blob: bigint | null }>>`SELECT blob FROM rhizome_payloads WHERE hash = ${hash}`;
        if (row === undefined) throw new Error('payload not held');
        if (row.blob === null) {
          await sql`UPDATE rhizome_payloads SET data = set_byte(data, ${offset}, get_byte(data, ${offset}) # 255) WHERE hash = ${hash}`;
          return;
        }
        const seq = Math.floor(offset / CHUNK);
        const at = offset - seq * CHUNK;
        await sql`UPDATE rhizome_chunks SET data = set_byte(data, ${at}, get_byte(data, ${at}) # 255) WHERE blob = ${row.blob.toString()}::bigint AND seq = ${seq}`;
      },
      async cleanup() {
        for (const db of opened) await db.close();
        await database.drop();
      },
    };
  },
};
