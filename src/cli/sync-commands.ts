/**
 * `tendril sync …`: the peers this node syncs with, and how sync is going. Peers are
 * configuration (`sync.peer.NAME.*`), so a running node picks a change up at once; tokens are
 * taken from an option, a file, the environment or a prompt, stored owner-only, and never
 * printed.
 */
import type { Command } from 'commander';
import { buildConfig } from '../config/config.js';
import { readConfigFile, updateConfigFile } from '../config/file.js';
import { fail } from '../errors.js';
import { ensureInstanceDirs, type InstancePaths } from '../node/instance.js';
import { ok } from '../client/core.js';
import { tableObjects, type JsonTable } from '../client/table.js';
import type { Io } from './io.js';
import { nodeIsRunning, withNode } from './node-client.js';
import { promptSecret, warnVisible } from './secrets.js';

interface AddOptions {
  node?: string;
  token?: string | boolean;
  tokenFile?: string;
  name?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

async function tokenOf(opts: AddOptions, io: Io): Promise<string | undefined> {
  if (typeof opts.token === 'string') {
    warnVisible(io, '--token', '--token-file, TENDRIL_SYNC_TOKEN, or --token alone to be asked');
    return opts.token;
  }
  if (opts.token === true) return promptSecret('Token of the peer: ');
  return process.env.TENDRIL_SYNC_TOKEN;
}

/** Name → what the peer is known by: its URL, else `node:ID` (dialled where discovery finds it). */
function peerNames(paths: InstancePaths): Map<string, string> {
  return new Map(buildConfig(readConfigFile(paths.configFile)).sync.peers.map((p) => [p.name, p.url ?? `node:${p.node}`]));
}

const FIELDS = ['url', 'node', 'token', 'token_file', 'ca', 'cert', 'key'];

const when = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toISOString() : '-');

export function registerSyncCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const sync = program.command('sync').description('Tendril sync with other nodes: peers and status');
  const peer = sync.command('peer').description('the peers this node syncs with');

  peer
    .command('add [url]')
    .description('sync with the node at URL (its mesh, server or mtls web server serving sync), or with --node alone where it is found on the local network')
    .option('--node <id>', 'the node id it must have (sync status shows it); without URL, it is dialled where discovery finds it (sync.discovery.enable)')
    .option('--token [token]', 'an API token of that node (visible in the process list: prefer --token-file, TENDRIL_SYNC_TOKEN, or --token alone to be asked)')
    .option('--token-file <file>', 'a file holding the token (read by the node whenever it connects)')
    .option('--name <name>', 'the label of the peer in the configuration (default: the next free number)')
    .option('--ca <file>', 'HTTPS: the CA or certificate to trust for that node')
    .option('--cert <file>', 'HTTPS, mtls mode: a client certificate to present')
    .option('--key <file>', 'the private key of --cert')
    .action(async (url: string | undefined, opts: AddOptions) => {
      const p = paths();
      ensureInstanceDirs(p);
      const names = peerNames(p);
      const node = opts.node?.toLowerCase();
      if (url === undefined && node === undefined) fail('USAGE', { arg: 'sync peer add: a URL, or --node ID' });
      if (node !== undefined && !/^[0-9a-f]{32}$/.test(node)) fail('USAGE', { arg: '--node: a node id is 32 hex digits' });
      const known = url ?? `node:${node}`;
      if ([...names.values()].includes(known)) fail('USAGE', { arg: `${known} is a peer already` });
      let name = opts.name;
      for (let n = 0; name === undefined; n++) if (!names.has(String(n))) name = String(n);
      if (names.has(name)) fail('USAGE', { arg: `a peer named ${name} exists already` });
      const token = await tokenOf(opts, io);
      // The url (else the node) last: a running node acts on a peer once one of them appears, with the rest in place.
      const entries: Array<[string, string | undefined]> = [
        ['token', token],
        ['token_file', opts.tokenFile],
        ['ca', opts.ca],
        ['cert', opts.cert],
        ['key', opts.key],
        ...(url === undefined ? [] : ([['node', node]] as Array<[string, string | undefined]>)),
        [url === undefined ? 'node' : 'url', url ?? node],
      ];
      for (const [field, value] of entries) if (value !== undefined) updateConfigFile(p.configFile, `sync.peer.${name}.${field}`, value);
      io.out(`peer ${name}: ${known}${token !== undefined || opts.tokenFile !== undefined ? ' (with a token)' : ''}`);
    });

  peer
    .command('remove <url-or-name>')
    .description('stop syncing with a peer (its URL, its name, or its node id)')
    .action((which: string) => {
      const p = paths();
      const names = peerNames(p);
      const name = names.has(which) ? which : [...names].find(([, known]) => known === which || known === `node:${which.toLowerCase()}`)?.[0];
      if (name === undefined) fail('USAGE', { arg: `no peer ${which}` });
      for (const field of FIELDS) updateConfigFile(p.configFile, `sync.peer.${name}.${field}`, undefined);
      io.out(`removed peer ${name}`);
    });

  peer
    .command('list')
    .description('the configured peers (never their tokens)')
    .action(() => {
      for (const [name, url] of peerNames(paths())) io.out(`${name}\t${url}`);
    });

  sync
    .command('status')
    .description('each peer: state, last contact, bundles and bytes each way, lag')
    .action(async () => {
      const p = paths();
      if (!nodeIsRunning(p)) {
        io.out('the node is not running: no links');
        for (const [name, url] of peerNames(p)) io.out(`${name}\t${url}`);
        io.exit(3);
        return;
      }
      await withNode(p, io, async (node) => {
        const table = (await ok(node.api.GET('/restful/sync/peers.json'))) as unknown as JsonTable;
        io.out(['address', 'direction', 'found', 'state', 'last contact', 'bundles in/out', 'bytes in/out', 'lag', 'error'].join('\t'));
        for (const r of tableObjects<Record<string, string | number | null>>(table)) {
          const pair = (a: string, b: string): string => `${String(r[a])}/${String(r[b])}`;
          io.out([r.address, r.direction, r.found, r.state, when(r.last_contact), pair('bundles_in', 'bundles_out'), pair('bytes_in', 'bytes_out'), `${String(r.lag_bundles)} (${String(r.lag_seconds)} s)`, r.last_error ?? ''].join('\t'));
        }
      });
    });
}
