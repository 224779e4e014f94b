/**
 * `tendril start | stop | status`: running the node in the foreground or as a daemon.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, watch } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { buildConfig, type Config } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { fail } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { ensureInstanceDirs, type InstancePaths } from '../node/instance.js';
import { startNode, type NodeState } from '../node/node.js';
import { isAlive, runningPid } from '../node/pid-lock.js';
import { checkSpec, parseCommands } from '../web/spec.js';
import { parsePortOption, type Io } from './io.js';
import { untilStopped } from './signals.js';
import { printStatus } from './status.js';

export function readState(paths: InstancePaths): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

function banner(io: Io, state: NodeState, config: Config): void {
  const users = Object.keys(config.api.restful.users);
  // Older state files name only URLs: each of those served the REST API.
  const servers = state.webServers ?? state.urls.map((u) => ({ mode: '', url: u, serve: ['api'] }));
  const url = servers.find((w) => w.serve.includes('api'))?.url;
  io.out(`Tendril ${state.version} is running (pid ${state.pid})`);
  io.out(`  instance:  ${state.instance}`);
  for (const w of servers) {
    if (w.serve.includes('api')) io.out(`  REST API:  ${w.url}/restful/`);
    // A server for other nodes (sync, Rhizome Direct) only: no REST API to try there.
    else io.out(`  serves:    ${w.serve.join(', ')} at ${w.url}${w.mode === '' ? '' : ` (${w.mode} mode)`}`);
  }
  io.out(`  control:   ${state.controlSocket}`);
  io.out(`  log:       ${state.logFile ?? 'this terminal'}`);
  if (config.api.restful.authorization === 'noauth') {
    io.out('  auth:      none (api.restful.authorization=noauth)');
  } else if (users.length === 0) {
    io.out('  auth:      HTTP Basic, but no user is configured yet. Create one (applies at once):');
    io.out('             tendril config set api.restful.users.NAME.password');
  } else {
    io.out(`  auth:      HTTP Basic as ${users.join(', ')}`);
    if (url) io.out(`  try:       curl -u ${users[0]}:PASSWORD ${url}/restful/keyring/identities.json`);
  }
}

/**
 * Re-reads the config file when it changes (an edit by hand; `config set` asks the node directly
 * and waits). An invalid file is logged, naming the key, and ignored.
 */
function watchConfig(paths: InstancePaths, log: Logger, reload: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(paths.root, (_event, file) => {
    if (file !== 'tendril.conf') return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        reload();
      } catch (err) {
        log.error({ reason: (err as Error).message }, 'configuration not reloaded');
      }
    }, 100);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

interface StartOptions {
  readonly detach?: boolean;
  readonly port?: number;
  readonly commands?: string;
}

/** Creates the instance directory, saying so when it is new (a forgotten --instance shows here). */
function prepareInstance(paths: InstancePaths, io: Io): void {
  if (!existsSync(paths.root)) io.err(`tendril: creating a new instance in ${paths.root}`);
  ensureInstanceDirs(paths);
}

/** The web servers to run: --commands, else web.commands; each checked before anything starts. */
function serversOf(opts: StartOptions, config: Config): ReturnType<typeof parseCommands> | undefined {
  const commands = opts.commands ?? config.web.commands;
  if (commands === undefined) return undefined;
  const servers = parseCommands(commands);
  for (const spec of servers) checkSpec(spec);
  return servers;
}

async function runForeground(paths: InstancePaths, opts: StartOptions, io: Io): Promise<number> {
  prepareInstance(paths, io);
  let config = buildConfig(readConfigFile(paths.configFile));
  const detached = process.env.TENDRIL_DETACHED === '1';
  const log = createLogger({ level: config.log.level });
  // For store-limit trials: pretend the disk has this many bytes free (spec §1.1's SERVALD_FREE_SPACE).
  const free = process.env.TENDRIL_FREE_SPACE;
  const freeSpaceOverride = free !== undefined && /^\d+$/.test(free) ? Number(free) : undefined;
  const reloadConfig = (): void => {
    const next = buildConfig(readConfigFile(paths.configFile));
    if (next.rhizome.port !== config.rhizome.port) log.warn('rhizome.http.port changes at the next start');
    log.level = next.log.level;
    config = next;
    log.info('configuration reloaded');
    // Services that hold on to parts of the configuration (sync's peers) look again.
    configChanged();
  };
  let configChanged = (): void => undefined;
  const node = await startNode({
    paths,
    config: () => config,
    log,
    port: opts.port,
    freeSpaceOverride,
    servers: serversOf(opts, config),
    reloadConfig,
    logFile: detached ? paths.logFile : undefined,
  });
  configChanged = () => node.configChanged();
  const unwatch = watchConfig(paths, log, reloadConfig);
  if (!detached) banner(io, node.state, config);
  const signal = await untilStopped(io.signal);
  log.info({ signal }, 'stopping');
  unwatch();
  await node.stop();
  log.info('stopped');
  log.flush();
  return 0;
}

/** The last lines a failed start wrote to the log (its error), from `offset`. */
function logTail(file: string, offset: number): string[] {
  try {
    const text = readFileSync(file).subarray(offset).toString('utf8');
    return text.split('\n').filter((l) => l.trim() !== '').slice(-5);
  } catch {
    return [];
  }
}

async function runDetached(paths: InstancePaths, opts: StartOptions, io: Io): Promise<number> {
  prepareInstance(paths, io);
  const config = buildConfig(readConfigFile(paths.configFile));
  // Impossible servers fail here, with their reason, before anything is spawned.
  serversOf(opts, config);
  const running = runningPid(paths.pidFile);
  if (running !== undefined) fail('INSTANCE_LOCKED', { arg: `a node is already running (pid ${running})` });
  const logFd = openSync(paths.logFile, 'a', 0o600);
  const offset = statSync(paths.logFile).size;
  const args = [...process.execArgv, process.argv[1]!, '--instance', paths.root, 'start'];
  if (opts.port !== undefined) args.push('--port', String(opts.port));
  if (opts.commands !== undefined) args.push('--commands', opts.commands);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, TENDRIL_DETACHED: '1' },
  });
  closeSync(logFd);
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const state = readState(paths);
    if (state && state.pid === child.pid && existsSync(paths.controlSocket)) {
      banner(io, state, config);
      return 0;
    }
    if (child.pid === undefined || !isAlive(child.pid)) break;
    await sleep(50);
  }
  const said = logTail(paths.logFile, offset);
  for (const line of said) io.err(line);
  fail('USAGE', { arg: `the node did not start${said.length > 0 ? ' (its log says why, above)' : ''}; see ${paths.logFile}` });
}

async function stopNode(paths: InstancePaths, io: Io): Promise<number> {
  const pid = runningPid(paths.pidFile);
  if (pid === undefined) {
    io.out('Tendril is not running');
    return 1;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      io.out(`stopped pid ${pid} (killed after 15 s)`);
      return 0;
    }
    await sleep(50);
  }
  io.out(`stopped pid ${pid}`);
  return 0;
}

export function registerNodeCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  program
    .command('start')
    .description('start the node (in the foreground unless --detach)')
    .option('--detach', 'run in the background, logging to the instance log file')
    .option('--port <n>', 'REST port of the default server (overrides rhizome.http.port; an error if it is busy)', parsePortOption)
    .option('--commands <servers>', 'web servers to run, e.g. "web server --mode=upstream --port=4110; web server --mode=server --port=8443 --certfile=F --keyfile=F"')
    .action(async (opts: StartOptions) => {
      // Bad server specs fail here, before anything starts or daemonises.
      if (opts.commands !== undefined) parseCommands(opts.commands);
      io.exit(await (opts.detach ? runDetached : runForeground)(paths(), opts, io));
    });
  program
    .command('stop')
    .description('stop the running node')
    .action(async () => io.exit(await stopNode(paths(), io)));
  program
    .command('status')
    .description('say whether the node runs: pid, version, uptime, web servers and their modes, log file')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => io.exit(await printStatus(paths(), io, opts.json === true)));
}
