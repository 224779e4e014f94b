/**
 * `tendril web …`: a dedicated web server in front of the node, API tokens, and the OpenAPI
 * document.
 */
import type { Command } from 'commander';
import { buildConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { fail } from '../errors.js';
import { createLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { LIFETIME_FORMAT, parseTokenLifetime } from '../services/tokens/lifetime.js';
import { startDedicatedServer } from '../web/dedicated.js';
import { parseServerArgs, servesOf } from '../web/spec.js';
import { collect, type Io } from './io.js';
import { nodeIsRunning, withNode } from './node-client.js';
import { untilStopped } from './signals.js';

const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

/** The options of `web server`, as `--name=value` words for the one spec parser (src/web/spec.ts). */
const SERVER_OPTIONS = ['mode', 'bind', 'port', 'certfile', 'keyfile', 'clientca', 'serve'] as const;

interface ServerOptions {
  mode?: string;
  bind?: string;
  port?: string;
  certfile?: string;
  keyfile?: string;
  clientca?: string;
  serve?: string;
  allowedOrigin?: string[];
  hostName?: string[];
  allowGetWrites?: boolean;
}

function serverWords(opts: ServerOptions): string[] {
  const words = SERVER_OPTIONS.filter((name) => opts[name] !== undefined).map((name) => `--${name}=${opts[name]!}`);
  for (const origin of opts.allowedOrigin ?? []) words.push(`--allowed-origin=${origin}`);
  for (const name of opts.hostName ?? []) words.push(`--host-name=${name}`);
  if (opts.allowGetWrites) words.push('--allow-get-writes');
  return words;
}

export function registerWebCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const web = program.command('web').description('web servers, API tokens and the API description');

  web
    .command('server')
    .description('run a dedicated web server attached to the node, until Ctrl-C or SIGTERM')
    .option('--mode <mode>', 'dev, server, upstream, mtls or mesh (default: server)')
    .option('--bind <address>', 'IP address to listen on (default 127.0.0.1)')
    .option('--port <n>', 'port (default: rhizome.http.port, or the next free one above it)')
    .option('--certfile <file>', 'HTTPS certificate, PEM (server and mtls modes)')
    .option('--keyfile <file>', 'its private key, PEM (server and mtls modes)')
    .option('--clientca <file>', 'CA certificate that signs client certificates, PEM (mtls mode)')
    .option('--allowed-origin <origin>', 'a browser origin allowed beside the local ones (repeatable; null: sandboxed frames and file: pages; *: any, dev mode only)', collect)
    .option('--host-name <name>', 'a name clients reach it by, beside localhost and IP addresses (repeatable; *.domain; *: any)', collect)
    .option('--allow-get-writes', "serve the reference's legacy GET forms of writes (keyring/add, SID/set, SID/remove, SID/lock)")
    .option('--serve <list>', 'what it serves: api, metrics, sync, direct, comma-separated (default: api,metrics; mesh mode: sync,direct)')
    .action(async (opts: ServerOptions) => {
      const p = paths();
      const spec = parseServerArgs(serverWords(opts), 'server');
      const config = buildConfig(readConfigFile(p.configFile));
      const log = createLogger({ level: config.log.level });
      const running = await startDedicatedServer(p, spec, log, config.rhizome.port);
      const serves = servesOf(spec);
      // The REST API's URL where it is served; a server for other nodes alone says what it serves.
      const where = serves.includes('api') ? `${running.url}/restful/` : `${running.url} (serves ${serves.join(', ')})`;
      io.out(`Tendril web server (${spec.mode}) listening on ${where} for the node at ${p.root}`);
      // It attaches to the node per request, so it may start first; say so rather than fail.
      if (!nodeIsRunning(p)) io.err(`no node is running at ${p.root} yet: requests get 503 until it starts`);
      const signal = await untilStopped(io.signal);
      await running.stop();
      log.info({ signal }, 'web server stopped');
      log.flush();
    });

  web
    .command('generate-token')
    .description('make an API token; it is shown once and only its hash is kept')
    .option('--name <name>', 'a label for the token')
    .option('--expires <lifetime>', `lifetime: ${LIFETIME_FORMAT} (default: never)`)
    .option('--read-only', 'the token may only read')
    .option('--json', 'print the token and its record as JSON')
    .action(async (opts: { name?: string; expires?: string; readOnly?: boolean; json?: boolean }) => {
      if (opts.expires !== undefined && parseTokenLifetime(opts.expires) === undefined) {
        fail('USAGE', { arg: `--expires ${opts.expires}: expected ${LIFETIME_FORMAT}; a bare number is refused` });
      }
      await withNode(paths(), io, async (node) => {
        const made = await node.tokens.generate({ name: opts.name, expires: opts.expires, readOnly: opts.readOnly });
        if (opts.json) return io.json(made);
        io.out(made.token);
        io.err(`token ${made.info.id}${made.info.read_only ? ' (read-only)' : ''}, expires ${when(made.info.expires_at)}: store it now, it cannot be shown again`);
      });
    });

  web
    .command('list-tokens')
    .description('list API tokens (never their secrets)')
    .option('--json', 'print the tokens as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withNode(paths(), io, async (node) => {
        const tokens = await node.tokens.list();
        if (opts.json) return io.json(tokens);
        // Tab-separated: dates hold colons, and a token name cannot hold a tab (control characters
        // are refused), so every field splits cleanly.
        io.out(['id', 'name', 'created', 'expires', 'access'].join('\t'));
        for (const t of tokens) io.out([t.id, t.name, when(t.created_at), when(t.expires_at), t.read_only ? 'read-only' : 'read-write'].join('\t'));
      });
    });

  web
    .command('revoke-token <id>')
    .description('revoke an API token at once, in every web server of the node')
    .option('--json', 'print the revoked token record as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withNode(paths(), io, async (node) => {
        const info = await node.tokens.revoke(id);
        if (opts.json) io.json(info);
        else io.out(`revoked ${id}`);
      });
    });

  web
    .command('openapi')
    .description('print the OpenAPI 3.1 description of the API')
    .action(async () => {
      await withNode(paths(), io, async (node) => {
        const { data, response } = await node.api.GET('/openapi.json', { parseAs: 'arrayBuffer' });
        if (!response.ok || data === undefined) fail('USAGE', { arg: `${response.statusText} (HTTP ${response.status})` });
        io.raw(Buffer.from(data));
      });
    });
}
