/**
 * The shared Rhizome store suite on the PostgreSQL backend, against a real server (Debian's
 * postgresql, started privately: test/helpers/postgres.ts).
 */
import { postgresFactory } from './rhizome-postgres-factory.js';
import { rhizomeStoreSuite } from './suite/index.js';

rhizomeStoreSuite(postgresFactory);
