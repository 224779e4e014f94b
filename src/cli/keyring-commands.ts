/**
 * `tendril keyring …`: the keyring REST API from the command line, plus dump and load in the
 * reference's `keyring dump --secret` text format so identities move between Serval DNA and
 * Tendril in both directions. PINs come from --pin (visible in the process list, as the
 * reference's --entry-pin is), --pin-file, --ask-pin or TENDRIL_PIN (src/cli/secrets.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Identity } from '../client/index.js';
import { DEFAULT_PIN_KEY_PARAMS } from '../crypto/pin-key.js';
import { fail } from '../errors.js';
import { formatKeyringDump } from '../formats/keyring-dump.js';
import { silentLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { openKeyring } from '../services/keyring/keyring.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { Io } from './io.js';
import { nodeIsRunning, withNode } from './node-client.js';
import { onePin, pinOptions, pinsOf, type PinOptions } from './secrets.js';

const HEADER = 'sid:identity:did:name';
const row = (cells: unknown[]): string => cells.map((c) => (typeof c === 'string' || typeof c === 'number' ? String(c) : '')).join(':');

/** Identities as `keyring list` prints them, or as JSON. */
function printIdentities(io: Io, ids: readonly Identity[], json: boolean | undefined, single = false): void {
  if (json) return io.json(single ? ids[0] : ids);
  io.out(HEADER);
  for (const id of ids) io.out(row([id.sid, id.identity, id.did, id.name]));
}

type WithJson = { json?: boolean };

export function registerKeyringCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const keyring = program.command('keyring').description('manage identities');
  const JSON_HELP = 'print JSON instead of text';

  pinOptions(keyring.command('list').description('list unlocked identities (sid:identity:did:name)'))
    .option('--json', JSON_HELP)
    .action(async (opts: PinOptions & WithJson) => {
      const pins = await pinsOf(opts, io);
      await withNode(paths(), io, async (node) => {
        for (const pin of pins.slice(0, -1)) await node.keyring.list({ pin });
        printIdentities(io, await node.keyring.list({ pin: pins.at(-1) }), opts.json);
      });
    });

  pinOptions(keyring.command('add').description('create an identity'), 'protect it with this PIN')
    .option('--did <did>', 'its DID (phone number)')
    .option('--name <name>', 'its name')
    .option('--json', JSON_HELP)
    .action(async (opts: PinOptions & WithJson & { did?: string; name?: string }) => {
      const pin = await onePin(opts, io);
      await withNode(paths(), io, async (node) => printIdentities(io, [await node.keyring.add({ pin, did: opts.did, name: opts.name })], opts.json, true));
    });

  pinOptions(keyring.command('set <sid>').description('change the DID and/or name of an identity'), 'PIN of the identity')
    .option('--did <did>', 'new DID (empty to clear)')
    .option('--name <name>', 'new name (empty to clear)')
    .option('--json', JSON_HELP)
    .action(async (sid: string, opts: PinOptions & WithJson & { did?: string; name?: string }) => {
      const pin = await onePin(opts, io);
      await withNode(paths(), io, async (node) => printIdentities(io, [await node.keyring.set(sid, { pin, did: opts.did, name: opts.name })], opts.json, true));
    });

  pinOptions(keyring.command('remove <sid>').description('erase an identity from the keyring'), 'PIN of the identity')
    .option('--json', JSON_HELP)
    .action(async (sid: string, opts: PinOptions & WithJson) => {
      const pin = await onePin(opts, io);
      await withNode(paths(), io, async (node) => printIdentities(io, [await node.keyring.remove(sid, { pin })], opts.json, true));
    });

  keyring
    .command('lock <sid>')
    .description('lock an identity in the running node until its PIN is given again')
    .option('--json', JSON_HELP)
    .action(async (sid: string, opts: WithJson) => {
      if (!nodeIsRunning(paths())) fail('NODE_NOT_RUNNING');
      await withNode(paths(), io, async (node) => printIdentities(io, [await node.keyring.lock(sid)], opts.json, true));
    });

  pinOptions(keyring.command('dump [file]').description('write the unlocked identities in the reference keyring dump format'), 'also dump identities with this PIN')
    .option('--secret', 'include the secret keys')
    .action(async (file: string | undefined, opts: PinOptions & { secret?: boolean }) => {
      // Reads the keyring file directly: a dump changes nothing, and the file is only ever
      // replaced atomically, so this is safe beside a running node.
      const p = paths();
      const pins = await pinsOf(opts, io);
      if (!existsSync(p.keyringFile)) return;
      const ring = await openKeyring({ path: p.keyringFile, kdf: DEFAULT_PIN_KEY_PARAMS, log: silentLogger() });
      for (const pin of pins) await ring.enterPin(pin);
      const text = formatKeyringDump(ring.dump(), opts.secret === true);
      if (file === undefined) io.raw(text);
      // Owner-only whatever the file was (readable by others, a link): a new file renamed over it.
      else writeFileAtomic(file, text, 0o600);
    });

  pinOptions(keyring.command('load <file>').description('add the identities of a keyring dump (reference format)'), 'PIN for the next loaded identity (in order)')
    .option('--json', JSON_HELP)
    .action(async (file: string, opts: PinOptions & WithJson) => {
      const pins = await pinsOf(opts, io);
      const dump = readFileSync(file);
      await withNode(paths(), io, async (node) => printIdentities(io, await node.keyring.load(dump, { pins }), opts.json));
    });
}
