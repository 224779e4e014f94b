/**
 * `tendril store migrate --to TARGET`: copies this instance's whole store (bundles, keyring, API
 * tokens) into PostgreSQL, or back into SQLite (src/node/store-migration.ts), with a progress bar
 * on a terminal. Run it again after an interruption: it goes on where it stopped.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { buildConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { createLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { migrateInstanceStore } from '../node/store-migration.js';
import type { MigrationProgress } from '../store/migrate.js';
import type { Io } from './io.js';

const MB = 1_000_000;

/** A bar of bundles on a terminal's stderr; nothing otherwise. */
function bundleProgress(): MigrationProgress {
  if (!process.stderr.isTTY) return { start: () => undefined, update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: 'migrating [{bar}] {percentage}% {value}/{total} bundles, {eta_formatted} left', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    start: (total) => {
      bar.start(total, 0);
      started = true;
    },
    update: (done) => bar.update(done),
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

export function registerStoreCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const store = program.command('store').description('the Rhizome store itself');
  store
    .command('migrate')
    .description('copy the whole store (bundles, keyring, API tokens) to another backend; the source is only read, and a run cut short goes on where it stopped when run again')
    .requiredOption('--to <target>', 'postgres://USER@HOST/DATABASE (password from PGPASSWORD or PGPASSFILE), sqlite (this instance), or sqlite:DIR')
    .action(async (opts: { to: string }) => {
      const p = paths();
      const config = buildConfig(readConfigFile(p.configFile));
      const log = createLogger({ level: 'warn' });
      const report = await migrateInstanceStore({ paths: p, config, to: opts.to, log, progress: bundleProgress() });
      io.out(
        `migrated ${report.bundles} bundles to ${report.target}: ${report.copied} copied (${(report.bytes / MB).toFixed(1)} MB), ` +
          `${report.alreadyThere} already there, every one verified; ${report.identities} keyring slots, ${report.tokens} API tokens`,
      );
      if (report.payloadMissing > 0) io.out(`${report.payloadMissing} bundles not copied: the source no longer holds their payloads (evicted)`);
      if (report.target.startsWith('sqlite:')) {
        io.out('to use it: tendril config set rhizome.store.backend sqlite (with --instance DIR for another instance)');
      } else {
        io.out(`to use it: tendril config set rhizome.store.url '${opts.to}' && tendril config set rhizome.store.backend postgres`);
      }
    });
}
