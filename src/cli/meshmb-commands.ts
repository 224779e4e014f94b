/**
 * `tendril meshmb …`: the MeshMB REST API from the command line (spec §5). IDs are Signing IDs
 * (the `identity` column of `keyring list`); a feed's ID is its author's Signing ID. Lists print a
 * header line, then one colon-separated line per row, as `keyring list` does; `--json` prints the
 * rows as the API gives them.
 */
import type { Command } from 'commander';
import { isApiError, type TendrilClient } from '../client/index.js';
import { fail } from '../errors.js';
import { isHex } from '../formats/hex.js';
import type { InstancePaths } from '../node/instance.js';
import type { Io } from './io.js';
import { withNode } from './node-client.js';
import { pinOptions, pinsOf, type PinOptions } from './secrets.js';

const row = (cells: unknown[]): string =>
  cells.map((c) => (typeof c === 'string' || typeof c === 'number' || typeof c === 'boolean' ? String(c) : '')).join(':');

function idArg(what: string, text: string): string {
  if (!isHex(text, 32)) fail('USAGE', { arg: `${what} must be 64 hex digits: ${text}` });
  return text.toUpperCase();
}

/** Unlocks the identities of each PIN in the node. */
async function enterPins(node: TendrilClient, pins: readonly string[]): Promise<void> {
  for (const pin of pins) await node.keyring.list({ pin });
}

/**
 * "Identity locked" for an ID is what the node says when no unlocked identity has that Signing ID.
 * The commonest cause is a SID given instead (both are 64 hex digits): say so, and which ID to give.
 */
async function explainLocked(node: TendrilClient, id: string, err: unknown): Promise<never> {
  if (!isApiError(err) || err.status !== 419) throw err;
  const identities = await node.keyring.list();
  const bySid = identities.find((i) => i.sid === id);
  if (bySid) fail('USAGE', { arg: `${err.message}: ${id} is the SID of an identity; MeshMB takes its Signing ID, ${bySid.identity} (the identity column of keyring list)` });
  fail('USAGE', { arg: `${err.message}: no unlocked identity has the Signing ID ${id} (see keyring list; a PIN-protected one needs --pin-file, --ask-pin or TENDRIL_PIN)` });
}

type Opts = PinOptions & { json?: boolean };

export function registerMeshmbCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const meshmb = program.command('meshmb').description('public broadcast feeds (MeshMB)');

  /** Runs `fn` as identity `id`, after the PINs, explaining an identity that is not there. */
  const asIdentity = async (opts: PinOptions, id: string, fn: (node: TendrilClient) => Promise<void>): Promise<void> => {
    const pins = await pinsOf(opts, io);
    await withNode(paths(), io, async (node) => {
      await enterPins(node, pins);
      await fn(node).catch((err: unknown) => explainLocked(node, id, err));
    });
  };

  /** Prints rows: `header` then each row's `pick`, or JSON. */
  const print = <T>(opts: Opts, rows: readonly T[], header: string, pick: (r: T) => unknown[]): void => {
    if (opts.json) return io.json(rows);
    io.out(header);
    for (const r of rows) io.out(row(pick(r)));
  };

  pinOptions(meshmb.command('send <id> <text>').description("append a message to the identity's own feed")).action(
    async (id: string, text: string, opts: PinOptions) => {
      const me = idArg('ID', id);
      await asIdentity(opts, me, (node) => node.meshmb.send(me, text));
    },
  );

  pinOptions(
    meshmb
      .command('follow <id> <feed>')
      .description('follow a feed')
      .option('--name <name>', 'show the feed under this name')
      .option('--sender <sid>', "the feed author's SID, until the feed arrives"),
  ).action(async (id: string, feed: string, opts: PinOptions & { name?: string; sender?: string }) => {
    const [me, them] = [idArg('ID', id), idArg('FEEDID', feed)];
    await asIdentity(opts, me, (node) => node.meshmb.follow(me, them, { name: opts.name, sender: opts.sender }));
  });

  pinOptions(meshmb.command('ignore <id> <feed>').description('stop following (or blocking) a feed')).action(
    async (id: string, feed: string, opts: PinOptions) => {
      const [me, them] = [idArg('ID', id), idArg('FEEDID', feed)];
      await asIdentity(opts, me, (node) => node.meshmb.ignore(me, them));
    },
  );

  pinOptions(
    meshmb
      .command('block <id> <feed>')
      .description("block a feed: its messages leave the identity's activity")
      .option('--sender <sid>', "the feed author's SID, until the feed arrives"),
  ).action(async (id: string, feed: string, opts: PinOptions & { sender?: string }) => {
    const [me, them] = [idArg('ID', id), idArg('FEEDID', feed)];
    await asIdentity(opts, me, (node) => node.meshmb.block(me, them, { sender: opts.sender }));
  });

  /** A list of an identity's own (PINs may unlock it first): `header` lines or JSON. */
  const identityList = <T>(command: string, description: string, header: string, get: (node: TendrilClient, id: string) => Promise<T[]>, pick: (r: T) => unknown[]): void => {
    pinOptions(meshmb.command(`${command} <id>`).description(`${description} (${header})`))
      .option('--json', 'print the rows as JSON')
      .action(async (id: string, opts: Opts) => {
        const me = idArg('ID', id);
        await asIdentity(opts, me, async (node) => print(opts, await get(node, me), header, pick));
      });
  };
  identityList('feeds', 'list the feeds an identity follows or blocks', 'id:author:blocked:name:timestamp:last_message', (n, me) => n.meshmb.feeds(me), (f) => [
    f.id, f.author, f.blocked, f.name, f.timestamp, f.last_message,
  ]);
  identityList('activity', "list followed feeds' messages and one's own, newest first", 'id:author:name:timestamp:offset:message', (n, me) => n.meshmb.activity(me), (a) => [
    a.id, a.author, a.name, a.timestamp, a.offset, a.message,
  ]);

  meshmb
    .command('list <feed>')
    .description("list a feed's messages, newest first (offset:timestamp:text)")
    .option('--json', 'print the messages as JSON')
    .action(async (feed: string, opts: Opts) => {
      const id = idArg('FEEDID', feed);
      await withNode(paths(), io, async (node) => {
        const { messages } = await node.meshmb.messages(id);
        print(opts, messages, 'offset:timestamp:text', (m) => [m.offset, m.timestamp, m.text]);
      });
    });
}
