/**
 * `tendril keyring …`: the keyring REST API from the command line, plus dump and load in the
 * reference's `keyring dump --secret` text format so identities move between Serval DNA and
 * Tendril in both directions.
 *
 * PINs given with --pin are visible to other local users in the process list, as the reference's
 * --entry-pin is; TENDRIL_PIN (one PIN) avoids that.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_PIN_KEY_PARAMS } from '../crypto/pin-key.js';
import { fail } from '../errors.js';
import { formatKeyringDump } from '../formats/keyring-dump.js';
import { encodeMultipart } from '../http/multipart.js';
import { silentLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { openKeyring } from '../services/keyring/keyring.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { expectJson, nodeIsRunning, tableRows, withNode } from './client.js';
import { collect, type Io } from './io.js';

interface IdentityJson {
  sid: string;
  identity: string;
  did?: string;
  name?: string;
}

const HEADER = 'sid:identity:did:name';
const row = (cells: unknown[]): string =>
  cells.map((c) => (typeof c === 'string' || typeof c === 'number' ? String(c) : '')).join(':');

function pinsOf(opts: { pin?: string[] }): string[] {
  const pins = [...(opts.pin ?? [])];
  if (process.env.TENDRIL_PIN !== undefined) pins.push(process.env.TENDRIL_PIN);
  return pins;
}

function printIdentity(io: Io, body: Record<string, unknown>): void {
  const id = body.identity as IdentityJson;
  io.out(HEADER);
  io.out(row([id.sid, id.identity, id.did, id.name]));
}

export function registerKeyringCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const keyring = program.command('keyring').description('manage identities');

  keyring
    .command('list')
    .description('list unlocked identities (sid:identity:did:name)')
    .option('--pin <pin>', 'unlock identities with this PIN first (repeatable)', collect)
    .action(async (opts: { pin?: string[] }) => {
      await withNode(paths(), async (node) => {
        const pins = pinsOf(opts);
        for (const pin of pins.slice(0, -1)) await node.request('GET', '/restful/keyring/identities.json', { query: [['pin', pin]] });
        const reply = await node.request('GET', '/restful/keyring/identities.json', { query: [['pin', pins.at(-1)]] });
        io.out(HEADER);
        for (const r of tableRows(reply)) io.out(row(r));
      });
    });

  keyring
    .command('add')
    .description('create an identity')
    .option('--pin <pin>', 'protect it with this PIN')
    .option('--did <did>', 'its DID (phone number)')
    .option('--name <name>', 'its name')
    .action(async (opts: { pin?: string; did?: string; name?: string }) => {
      await withNode(paths(), async (node) => {
        const reply = await node.request('POST', '/restful/keyring/add', {
          query: [
            ['pin', opts.pin ?? process.env.TENDRIL_PIN],
            ['did', opts.did],
            ['name', opts.name],
          ],
        });
        printIdentity(io, expectJson(reply, [201]));
      });
    });

  keyring
    .command('set <sid>')
    .description('change the DID and/or name of an identity')
    .option('--pin <pin>', 'PIN of the identity')
    .option('--did <did>', 'new DID (empty to clear)')
    .option('--name <name>', 'new name (empty to clear)')
    .action(async (sid: string, opts: { pin?: string; did?: string; name?: string }) => {
      await withNode(paths(), async (node) => {
        const reply = await node.request('PATCH', `/restful/keyring/${encodeURIComponent(sid)}`, {
          query: [
            ['pin', opts.pin ?? process.env.TENDRIL_PIN],
            ['did', opts.did],
            ['name', opts.name],
          ],
        });
        printIdentity(io, expectJson(reply, [200]));
      });
    });

  keyring
    .command('remove <sid>')
    .description('erase an identity from the keyring')
    .option('--pin <pin>', 'PIN of the identity')
    .action(async (sid: string, opts: { pin?: string }) => {
      await withNode(paths(), async (node) => {
        const reply = await node.request('DELETE', `/restful/keyring/${encodeURIComponent(sid)}`, {
          query: [['pin', opts.pin ?? process.env.TENDRIL_PIN]],
        });
        printIdentity(io, expectJson(reply, [200]));
      });
    });

  keyring
    .command('lock <sid>')
    .description('lock an identity in the running node until its PIN is given again')
    .action(async (sid: string) => {
      if (!nodeIsRunning(paths())) fail('NODE_NOT_RUNNING');
      await withNode(paths(), async (node) => {
        const reply = await node.request('PUT', `/restful/keyring/${encodeURIComponent(sid)}/lock`);
        printIdentity(io, expectJson(reply, [200]));
      });
    });

  keyring
    .command('dump [file]')
    .description('write the unlocked identities in the reference keyring dump format')
    .option('--secret', 'include the secret keys')
    .option('--pin <pin>', 'also dump identities with this PIN (repeatable)', collect)
    .action(async (file: string | undefined, opts: { secret?: boolean; pin?: string[] }) => {
      // Reads the keyring file directly: a dump changes nothing, and the file is only ever
      // replaced atomically, so this is safe beside a running node.
      const p = paths();
      if (!existsSync(p.keyringFile)) return;
      const ring = await openKeyring({ path: p.keyringFile, kdf: DEFAULT_PIN_KEY_PARAMS, log: silentLogger() });
      for (const pin of pinsOf(opts)) await ring.enterPin(pin);
      const text = formatKeyringDump(ring.dump(), opts.secret === true);
      if (file === undefined) process.stdout.write(text);
      // Owner-only whatever the file was (readable by others, a link): a new file renamed over it.
      else writeFileAtomic(file, text, 0o600);
    });

  keyring
    .command('load <file>')
    .description('add the identities of a keyring dump (reference format)')
    .option('--pin <pin>', 'PIN for the next loaded identity (repeatable, in order)', collect)
    .action(async (file: string, opts: { pin?: string[] }) => {
      const boundary = `tendril-${Date.now().toString(36)}`;
      const body = encodeMultipart([{ name: 'dump', body: readFileSync(file) }], boundary);
      await withNode(paths(), async (node) => {
        const reply = await node.request('POST', '/control/keyring/load', {
          query: pinsOf(opts).map((pin) => ['pin', pin] as const),
          headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length },
          body,
        });
        const ids = expectJson(reply, [201]).identities as IdentityJson[];
        io.out(HEADER);
        for (const id of ids) io.out(row([id.sid, id.identity, id.did, id.name]));
      });
    });
}
