/**
 * `tendril web …`: a dedicated web server in front of the node, API tokens, and the OpenAPI
 * document.
 */
import type { Command } from 'commander';
import { buildConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { createLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { startDedicatedServer } from '../web/dedicated.js';
import { parseServerArgs } from '../web/spec.js';
import { expectJson, nodeIsRunning, tableRows, withNode } from './client.js';
import type { Io } from './io.js';

interface TokenJson {
  id: string;
  name: string;
  created_at: number;
  expires_at: number | null;
  read_only: boolean;
}

const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

export function registerWebCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const web = program.command('web').description('web servers, API tokens and the API description');

  web
    .command('server')
    .description('run a dedicated web server attached to the node (default mode: server)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[options...]', '--mode=dev|server|upstream|mtls|mesh --bind=ADDRESS --port=N --certfile=F --keyfile=F --clientca=F --allowed-origin=ORIGIN|null --host-name=NAME --allow-get-writes --serve=api,sync,direct')
    .action(async (args: string[]) => {
      const p = paths();
      const spec = parseServerArgs(args, 'server');
      const config = buildConfig(readConfigFile(p.configFile));
      const log = createLogger({ level: config.log.level });
      const running = await startDedicatedServer(p, spec, log, config.rhizome.port);
      io.out(`Tendril web server (${spec.mode}) listening on ${running.url}/restful/ for the node at ${p.root}`);
      // It attaches to the node per request, so it may start first; say so rather than fail.
      if (!nodeIsRunning(p)) io.err(`no node is running at ${p.root} yet: requests get 503 until it starts`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await running.stop();
      log.flush();
    });

  web
    .command('generate-token')
    .description('make an API token; it is shown once and only its hash is kept')
    .option('--name <name>', 'a label for the token')
    .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: never)')
    .option('--read-only', 'the token may only read')
    .action(async (opts: { name?: string; expires?: string; readOnly?: boolean }) => {
      await withNode(paths(), async (node) => {
        const reply = await node.request('POST', '/control/tokens', {
          query: [
            ['name', opts.name],
            ['expires', opts.expires],
            ['read_only', opts.readOnly ? '1' : undefined],
          ],
        });
        const body = expectJson(reply, [201]) as { token: string; info: TokenJson };
        io.out(body.token);
        io.err(`token ${body.info.id}${body.info.read_only ? ' (read-only)' : ''}, expires ${when(body.info.expires_at)}: store it now, it cannot be shown again`);
      });
    });

  web
    .command('list-tokens')
    .description('list API tokens (never their secrets)')
    .action(async () => {
      await withNode(paths(), async (node) => {
        const rows = tableRows(await node.request('GET', '/control/tokens'));
        // Tab-separated: dates hold colons, and a token name cannot hold a tab (control characters
        // are refused), so every field splits cleanly.
        io.out(['id', 'name', 'created', 'expires', 'access'].join('\t'));
        for (const [id, name, created, expires, readOnly] of rows as Array<[string, string, number, number | null, boolean]>) {
          io.out([id, name, when(created), when(expires), readOnly ? 'read-only' : 'read-write'].join('\t'));
        }
      });
    });

  web
    .command('revoke-token <id>')
    .description('revoke an API token at once, in every web server of the node')
    .action(async (id: string) => {
      await withNode(paths(), async (node) => {
        expectJson(await node.request('DELETE', `/control/tokens/${encodeURIComponent(id)}`), [200]);
        io.out(`revoked ${id}`);
      });
    });

  web
    .command('openapi')
    .description('print the OpenAPI 3.1 description of the API')
    .action(async () => {
      await withNode(paths(), async (node) => {
        const reply = await node.request('GET', '/openapi.json');
        expectJson(reply, [200]);
        process.stdout.write(reply.body);
      });
    });
}
