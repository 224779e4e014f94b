/**
 * The shared Rhizome store suite on the SQLite backend. What only SQLite has (files, WAL, locks,
 * the commit writer thread, recovery) is tested in rhizome-sqlite-*.test.ts and beside them.
 */
import { sqliteFactory } from './rhizome-sqlite-factory.js';
import { rhizomeStoreSuite } from './suite/index.js';

rhizomeStoreSuite(sqliteFactory);
