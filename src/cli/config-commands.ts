/**
 * `tendril config set | get | del | list`. Values are validated against the schema before the
 * file changes; a running node picks the new file up at once.
 */
import type { Command } from 'commander';
import { findKeySpec, KEYS } from '../config/schema.js';
import { readConfigFile, updateConfigFile } from '../config/file.js';
import { validateEntry } from '../config/config.js';
import { fail } from '../errors.js';
import { ensureInstanceDirs, type InstancePaths } from '../node/instance.js';
import type { Io } from './io.js';

export function registerConfigCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const config = program.command('config').description('read and change the node configuration');

  config
    .command('set <key> <value>')
    .description('set a configuration key (validated first)')
    .action((key: string, value: string) => {
      const p = paths();
      ensureInstanceDirs(p);
      updateConfigFile(p.configFile, key, value);
    });

  config
    .command('get <key>')
    .description('print the value of a key (its default when unset)')
    .action((key: string) => {
      const spec = findKeySpec(key);
      if (!spec) fail('CONFIG_UNKNOWN_KEY', { arg: key });
      const value = readConfigFile(paths().configFile).get(key) ?? spec.default;
      if (value === undefined) {
        io.err(`${key} is not set and has no default`);
        io.exit(1);
      } else {
        io.out(value);
      }
    });

  config
    .command('del <key>')
    .description('remove a key, restoring its default')
    .action((key: string) => {
      if (!findKeySpec(key)) fail('CONFIG_UNKNOWN_KEY', { arg: key });
      updateConfigFile(paths().configFile, key, undefined);
    });

  config
    .command('list')
    .description('print every key that is set (secrets masked); --all adds the defaults and descriptions')
    .option('--all', 'list every known key with its default and meaning')
    .action((opts: { all?: boolean }) => {
      const entries = readConfigFile(paths().configFile);
      for (const [key, value] of entries) {
        validateEntry(key, value);
        io.out(`${key}=${findKeySpec(key)?.secret ? '********' : value}`);
      }
      if (opts.all) {
        for (const spec of KEYS) io.out(`# ${spec.key}${spec.default === undefined ? '' : ` (default ${spec.default})`}: ${spec.doc}`);
      }
    });
}
