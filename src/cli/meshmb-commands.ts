/**
 * `tendril meshmb …`: the MeshMB REST API from the command line (spec §5). IDs are Signing IDs
 * (the `identity` column of `keyring list`); a feed's ID is its author's Signing ID. Lists print a
 * header line, then one colon-separated line per row, as `keyring list` does.
 */
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { isHex } from '../formats/hex.js';
import type { InstancePaths } from '../node/instance.js';
import { expectJson, messageForm, tableRows, withNode, type NodeClient } from './client.js';
import { collect, type Io } from './io.js';

const BASE = '/restful/meshmb';

const row = (cells: unknown[]): string =>
  cells.map((c) => (typeof c === 'string' || typeof c === 'number' || typeof c === 'boolean' ? String(c) : '')).join(':');

function idArg(what: string, text: string): string {
  if (!isHex(text, 32)) fail('USAGE', { arg: `${what} must be 64 hex digits: ${text}` });
  return text.toUpperCase();
}

/** Unlocks the identities of each PIN (--pin, then TENDRIL_PIN) in the node. */
async function enterPins(node: NodeClient, opts: { pin?: string[] }): Promise<void> {
  const pins = [...(opts.pin ?? [])];
  if (process.env.TENDRIL_PIN !== undefined) pins.push(process.env.TENDRIL_PIN);
  for (const pin of pins) await node.request('GET', '/restful/keyring/identities.json', { query: [['pin', pin]] });
}

export function registerMeshmbCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const meshmb = program.command('meshmb').description('public broadcast feeds (MeshMB)');
  const PIN = ['--pin <pin>', 'unlock identities with this PIN first (repeatable)'] as const;

  /** Runs a POST that answers 201 on success. */
  const write = async (opts: { pin?: string[] }, path: string, query: Array<[string, string | undefined]> = []): Promise<void> => {
    await withNode(paths(), async (node) => {
      await enterPins(node, opts);
      expectJson(await node.request('POST', `${BASE}/${path}`, { query, headers: { 'Content-Length': 0 } }), [201]);
    });
  };

  /** Prints a JSON table: `header`, then its rows. */
  const list = async (opts: { pin?: string[] }, path: string, header: string, pick: (r: unknown[]) => unknown[]): Promise<void> => {
    await withNode(paths(), async (node) => {
      await enterPins(node, opts);
      const rows = tableRows(await node.request('GET', `${BASE}/${path}`));
      io.out(header);
      for (const r of rows) io.out(row(pick(r)));
    });
  };

  meshmb
    .command('send <id> <text>')
    .description("append a message to the identity's own feed")
    .option(...PIN, collect)
    .action(async (id: string, text: string, opts: { pin?: string[] }) => {
      await withNode(paths(), async (node) => {
        await enterPins(node, opts);
        const reply = await node.request('POST', `${BASE}/${idArg('ID', id)}/sendmessage`, messageForm(text));
        expectJson(reply, [201]);
      });
    });

  meshmb
    .command('follow <id> <feed>')
    .description('follow a feed')
    .option('--name <name>', 'show the feed under this name')
    .option('--sender <sid>', "the feed author's SID, until the feed arrives")
    .option(...PIN, collect)
    .action(async (id: string, feed: string, opts: { name?: string; sender?: string; pin?: string[] }) => {
      await write(opts, `${idArg('ID', id)}/follow/${idArg('FEEDID', feed)}`, [
        ['name', opts.name],
        ['sender', opts.sender],
      ]);
    });

  meshmb
    .command('ignore <id> <feed>')
    .description('stop following (or blocking) a feed')
    .option(...PIN, collect)
    .action(async (id: string, feed: string, opts: { pin?: string[] }) => {
      await write(opts, `${idArg('ID', id)}/ignore/${idArg('FEEDID', feed)}`);
    });

  meshmb
    .command('block <id> <feed>')
    .description("block a feed: its messages leave the identity's activity")
    .option('--sender <sid>', "the feed author's SID, until the feed arrives")
    .option(...PIN, collect)
    .action(async (id: string, feed: string, opts: { sender?: string; pin?: string[] }) => {
      await write(opts, `${idArg('ID', id)}/block/${idArg('FEEDID', feed)}`, [['sender', opts.sender]]);
    });

  meshmb
    .command('feeds <id>')
    .description('list the feeds an identity follows or blocks (id:author:blocked:name:timestamp:last_message)')
    .option(...PIN, collect)
    .action(async (id: string, opts: { pin?: string[] }) => {
      await list(opts, `${idArg('ID', id)}/feedlist.json`, 'id:author:blocked:name:timestamp:last_message', (r) => r);
    });

  meshmb
    .command('activity <id>')
    .description("list followed feeds' messages and one's own, newest first (id:author:name:timestamp:offset:message)")
    .option(...PIN, collect)
    .action(async (id: string, opts: { pin?: string[] }) => {
      await list(opts, `${idArg('ID', id)}/activity.json`, 'id:author:name:timestamp:offset:message', (r) => r.slice(2));
    });

  meshmb
    .command('list <feed>')
    .description("list a feed's messages, newest first (offset:timestamp:text)")
    .action(async (feed: string) => {
      await list({}, `${idArg('FEEDID', feed)}/messagelist.json`, 'offset:timestamp:text', (r) => [r[0], r[3], r[2]]);
    });
}
