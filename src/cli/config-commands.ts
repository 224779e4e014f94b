/**
 * `tendril config set | get | del | list`. Values are validated before the file changes, the whole
 * file included (a user too many is refused here, not at the next start); then, when a node is
 * running, `set` and `del` return only once the node has applied the new file (it is asked over
 * the control socket and answers when done), so a client that acts next sees the change.
 *
 * Passwords are secrets: `config set api.restful.users.NAME.password` without a value takes it
 * from --password-file, TENDRIL_PASSWORD, or a prompt on the terminal; given on the command line it
 * works, with a warning that the process list shows it.
 */
import type { Command } from 'commander';
import { validateEntry } from '../config/config.js';
import { readConfigFile, updateConfigFile } from '../config/file.js';
import { findKeySpec, KEYS } from '../config/schema.js';
import { fail } from '../errors.js';
import { ensureInstanceDirs, type InstancePaths } from '../node/instance.js';
import { createSocketClient } from '../client/node.js';
import { existsSync } from 'node:fs';
import type { Io } from './io.js';
import { nodeIsRunning } from './node-client.js';
import { promptSecret, readSecretsFile, warnVisible } from './secrets.js';

const MASK = '********';

/** Asks the running node, if any, to apply the file now; returns once it has. */
async function applyInNode(paths: InstancePaths, io: Io): Promise<void> {
  if (!nodeIsRunning(paths) || !existsSync(paths.controlSocket)) return;
  const client = createSocketClient(paths.controlSocket);
  try {
    await client.config.reload();
  } catch (err) {
    io.err(`tendril: the file is changed, but the running node did not apply it: ${(err as Error).message}`);
    io.exit(1);
  } finally {
    client.close();
  }
}

async function secretValue(key: string, value: string | undefined, opts: { passwordFile?: string }, io: Io): Promise<string> {
  if (value !== undefined) {
    warnVisible(io, 'a password', '--password-file, TENDRIL_PASSWORD or the prompt (leave the value out)');
    return value;
  }
  if (opts.passwordFile !== undefined) return readSecretsFile(opts.passwordFile)[0] ?? '';
  if (process.env.TENDRIL_PASSWORD !== undefined) return process.env.TENDRIL_PASSWORD;
  if (!io.interactive) fail('USAGE', { arg: `${key}: give the password with --password-file FILE, TENDRIL_PASSWORD, or on a terminal` });
  const first = await promptSecret(`${key}: `);
  if ((await promptSecret('again: ')) !== first) fail('USAGE', { arg: 'the two passwords differ; nothing changed' });
  return first;
}

export function registerConfigCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const config = program.command('config').description('read and change the node configuration');

  config
    .command('set <key> [value]')
    .description('set a configuration key (validated first); a running node has applied it when this returns')
    .option('--password-file <file>', 'for a password key: read the password from FILE (- for standard input)')
    .action(async (key: string, value: string | undefined, opts: { passwordFile?: string }) => {
      const spec = findKeySpec(key);
      if (!spec) fail('CONFIG_UNKNOWN_KEY', { arg: key });
      if (spec.secret) value = await secretValue(key, value, opts, io);
      else if (value === undefined) fail('USAGE', { arg: `config set ${key} needs a value` });
      else if (opts.passwordFile !== undefined) fail('USAGE', { arg: `--password-file is for password keys, not ${key}` });
      const p = paths();
      if (!existsSync(p.root)) io.err(`tendril: creating a new instance in ${p.root}`);
      ensureInstanceDirs(p);
      updateConfigFile(p.configFile, key, value);
      await applyInNode(p, io);
    });

  config
    .command('get <key>')
    .description('print the value of a key (its default when unset)')
    .option('--json', 'print {"key", "value", "default"} as JSON')
    .action((key: string, opts: { json?: boolean }) => {
      const spec = findKeySpec(key);
      if (!spec) fail('CONFIG_UNKNOWN_KEY', { arg: key });
      const set = readConfigFile(paths().configFile).get(key);
      const value = set ?? spec.default;
      if (opts.json) return io.json({ key, value: value ?? null, default: set === undefined });
      if (value === undefined) {
        io.err(`${key} is not set and has no default`);
        io.exit(1);
      } else {
        io.out(value);
      }
    });

  config
    .command('del <key>')
    .description('remove a key, restoring its default; a running node has applied it when this returns')
    .action(async (key: string) => {
      if (!findKeySpec(key)) fail('CONFIG_UNKNOWN_KEY', { arg: key });
      const p = paths();
      updateConfigFile(p.configFile, key, undefined);
      await applyInNode(p, io);
    });

  config
    .command('list')
    .description('print every key that is set (secrets masked); --all adds the defaults and descriptions')
    .option('--all', 'list every known key with its default and meaning')
    .option('--json', 'print the keys as JSON')
    .action((opts: { all?: boolean; json?: boolean }) => {
      const entries = readConfigFile(paths().configFile);
      const shown = (key: string, value: string): string => (findKeySpec(key)?.secret ? MASK : value);
      for (const [key, value] of entries) {
        try {
          validateEntry(key, value);
        } catch (err) {
          io.err(`tendril: ${(err as Error).message}`);
        }
      }
      if (opts.json) {
        const set = [...entries].map(([key, value]) => ({ key, value: shown(key, value) }));
        if (!opts.all) return io.json(set);
        return io.json({ set, keys: KEYS.map((k) => ({ key: k.key, default: k.default ?? null, doc: k.doc })) });
      }
      for (const [key, value] of entries) io.out(`${key}=${shown(key, value)}`);
      if (opts.all) {
        for (const spec of KEYS) io.out(`# ${spec.key}${spec.default === undefined ? '' : ` (default ${spec.default})`}: ${spec.doc}`);
      }
    });
}
