/**
 * `tendril store migrate --to TARGET`: this instance's store (whatever rhizome.store.backend
 * says), its keyring and its API tokens, copied into another backend (src/store/migrate.ts).
 *
 *   TARGET = postgres://…            a PostgreSQL database (created schema and all)
 *          | sqlite                  this instance's own SQLite store and files (back from PostgreSQL)
 *          | sqlite:DIR              the SQLite store and files of the instance directory DIR
 *
 * The instance's node must not run meanwhile (its pid lock is held for the duration), so its
 * SQLite store is not written while it is read; the source is opened read-only either way.
 */
import { resolve } from 'node:path';
import type { Config } from '../config/config.js';
import { parseDatabaseUrl } from '../config/values.js';
import { fail } from '../errors.js';
import type { Logger } from '../log.js';
import { fileKeyringStorage, readKeyringFile } from '../store/keyring-file.js';
import { migrateStore, type MigrationProgress, type MigrationReport } from '../store/migrate.js';
import { describeTarget, openDatabase, type Database } from '../store/postgres/database.js';
import { databaseKeyringStorage, readDatabaseKeyring } from '../store/postgres/keyring.js';
import { databaseTokenStorage } from '../store/postgres/tokens.js';
import { openRhizomeStore } from '../store/rhizome/open.js';
import type { RhizomeStore, StoreOptions } from '../store/rhizome/types.js';
import { fileTokenStorage } from '../store/token-storage.js';
import { ensureInstanceDirs, instancePaths, type InstancePaths } from './instance.js';
import { acquirePidLock } from './pid-lock.js';

export interface MigrationOptions {
  readonly paths: InstancePaths;
  readonly config: Config;
  /** postgres://…, `sqlite`, or `sqlite:DIR`. */
  readonly to: string;
  readonly log: Logger;
  readonly progress: MigrationProgress;
}

export interface MigrationResult extends MigrationReport {
  /** Where the store went, as the user should name it in config (never a password). */
  readonly target: string;
}

export async function migrateInstanceStore(options: MigrationOptions): Promise<MigrationResult> {
  const { paths, config, log } = options;
  const release = acquirePidLock(paths.pidFile);
  const closing: Array<() => Promise<void>> = [];
  try {
    const limits = (dir: string, readOnly: boolean): StoreOptions => ({
      dir,
      databaseSize: undefined, // a migration copies everything, whatever limits the target has
      minFreeSpace: 0n,
      maxBlobSize: config.rhizome.maxBlobSize,
      readOnly,
    });
    const open = async (url: string, readOnly: boolean): Promise<Database> => {
      const db = await openDatabase({ url, log, readOnly });
      closing.unshift(() => db.close());
      return db;
    };
    const keep = <T extends { close(): Promise<void> }>(store: T): T => {
      closing.unshift(() => store.close());
      return store;
    };

    // The source: what this instance uses now, read-only.
    const fromPostgres = config.rhizome.store.backend === 'postgres';
    const source = fromPostgres ? await open(config.rhizome.store.url!, true) : undefined;
    const sourceStore: RhizomeStore = keep(
      source
        ? await openRhizomeStore({ ...limits(paths.storeDir, true), backend: 'postgres', database: source, log })
        : await openRhizomeStore(limits(paths.storeDir, true)),
    );

    // The target.
    const to = options.to.trim();
    let target: MigrationResult['target'];
    let targetStore: RhizomeStore;
    let keyring;
    let tokens;
    if (/^postgres(ql)?:\/\//.test(to)) {
      parseDatabaseUrl(to);
      if (fromPostgres && describeTarget(to) === describeTarget(config.rhizome.store.url!)) fail('USAGE', { arg: 'the store is already in that database' });
      const db = await open(to, false);
      targetStore = keep(await openRhizomeStore({ ...limits(paths.storeDir, false), backend: 'postgres', database: db, log }));
      keyring = databaseKeyringStorage(db);
      tokens = databaseTokenStorage(db);
      target = describeTarget(to);
    } else if (to === 'sqlite' || to.startsWith('sqlite:')) {
      const dir = to === 'sqlite' ? paths.root : resolve(to.slice('sqlite:'.length));
      if (!fromPostgres && resolve(dir) === resolve(paths.root)) fail('USAGE', { arg: 'the store is already this instance’s SQLite store' });
      const into = instancePaths(dir);
      ensureInstanceDirs(into);
      targetStore = keep(await openRhizomeStore(limits(into.storeDir, false)));
      keyring = fileKeyringStorage(into.keyringFile);
      tokens = fileTokenStorage(into.tokensFile);
      target = `sqlite:${into.root}`;
    } else {
      fail('USAGE', { arg: `--to: expected postgres://…, sqlite or sqlite:DIR, not ${JSON.stringify(to)}` });
    }

    const report = await migrateStore(
      {
        store: sourceStore,
        keyring: source ? await readDatabaseKeyring(source) : readKeyringFile(paths.keyringFile),
        tokens: source ? databaseTokenStorage(source) : fileTokenStorage(paths.tokensFile),
      },
      { store: targetStore, keyring, tokens },
      options.progress,
    );
    return { ...report, target };
  } finally {
    for (const close of closing) await close().catch(() => undefined);
    release();
  }
}
