/**
 * `tendril start | stop | status`: running the node in the foreground or as a daemon.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, watch } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { buildConfig, type Config } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { fail } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { ensureInstanceDirs, type InstancePaths } from '../node/instance.js';
import { startNode, type NodeState } from '../node/node.js';
import { isAlive, runningPid } from '../node/pid-lock.js';
import { VERSION } from '../version.js';
import { parseCommands } from '../web/spec.js';
import { parsePortOption, type Io } from './io.js';

function readState(paths: InstancePaths): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

function banner(io: Io, state: NodeState, config: Config): void {
  const users = Object.keys(config.api.restful.users);
  const url = state.urls[0];
  io.out(`Tendril ${state.version} is running (pid ${state.pid})`);
  io.out(`  instance:  ${state.instance}`);
  for (const u of state.urls) io.out(`  REST API:  ${u}/restful/`);
  io.out(`  control:   ${state.controlSocket}`);
  if (config.api.restful.authorization === 'noauth') {
    io.out('  auth:      none (api.restful.authorization=noauth)');
  } else if (users.length === 0) {
    io.out('  auth:      HTTP Basic, but no user is configured yet. Create one (applies at once):');
    io.out('             npx tendril config set api.restful.users.NAME.password PASSWORD');
  } else {
    io.out(`  auth:      HTTP Basic as ${users.join(', ')}`);
    if (url) io.out(`  try:       curl -u ${users[0]}:PASSWORD ${url}/restful/keyring/identities.json`);
  }
}

/**
 * Re-reads the config file when it changes. A valid new config replaces the old one at once; an
 * invalid one is logged (naming the key) and ignored. The port needs a restart.
 */
function watchConfig(paths: InstancePaths, log: Logger, apply: (config: Config) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(paths.root, (_event, file) => {
    if (file !== 'tendril.conf') return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        apply(buildConfig(readConfigFile(paths.configFile)));
        log.info('configuration reloaded');
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

async function runForeground(paths: InstancePaths, opts: StartOptions, io: Io): Promise<number> {
  const port = opts.port;
  ensureInstanceDirs(paths);
  let config = buildConfig(readConfigFile(paths.configFile));
  const detached = process.env.TENDRIL_DETACHED === '1';
  const log = createLogger({ level: config.log.level });
  // For store-limit trials: pretend the disk has this many bytes free (spec §1.1's SERVALD_FREE_SPACE).
  const free = process.env.TENDRIL_FREE_SPACE;
  const freeSpaceOverride = free !== undefined && /^\d+$/.test(free) ? Number(free) : undefined;
  const commands = opts.commands ?? config.web.commands;
  const servers = commands === undefined ? undefined : parseCommands(commands);
  const node = await startNode({ paths, config: () => config, log, port, freeSpaceOverride, servers });
  const unwatch = watchConfig(paths, log, (next) => {
    if (next.rhizome.port !== config.rhizome.port) log.warn('rhizome.http.port changes at the next start');
    log.level = next.log.level;
    config = next;
    node.configChanged();
  });
  if (!detached) banner(io, node.state, config);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  unwatch();
  await node.stop();
  log.info('stopped');
  log.flush();
  return 0;
}

async function runDetached(paths: InstancePaths, opts: StartOptions, io: Io): Promise<number> {
  const port = opts.port;
  ensureInstanceDirs(paths);
  const config = buildConfig(readConfigFile(paths.configFile));
  const running = runningPid(paths.pidFile);
  if (running !== undefined) fail('INSTANCE_LOCKED', { arg: `a node is already running (pid ${running})` });
  const logFd = openSync(paths.logFile, 'a', 0o600);
  const args = [...process.execArgv, process.argv[1]!, '--instance', paths.root, 'start'];
  if (port !== undefined) args.push('--port', String(port));
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
  fail('USAGE', { arg: `the node did not start; see ${paths.logFile}` });
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

function status(paths: InstancePaths, io: Io): number {
  const pid = runningPid(paths.pidFile);
  const state = pid === undefined ? undefined : readState(paths);
  if (pid === undefined || state === undefined) {
    io.out('status: stopped');
    io.out(`instance: ${paths.root}`);
    io.out(`version: ${VERSION}`);
    return 3;
  }
  io.out('status: running');
  io.out(`pid: ${pid}`);
  io.out(`version: ${state.version}`);
  io.out(`instance: ${state.instance}`);
  for (const url of state.urls) io.out(`url: ${url}/restful/`);
  io.out(`control: ${state.controlSocket}`);
  return 0;
}

export function registerNodeCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  program
    .command('start')
    .description('start the node (in the foreground unless --detach)')
    .option('--detach', 'run in the background, logging to the instance log file')
    .option('--port <n>', 'REST port of the default server (overrides rhizome.http.port)', parsePortOption)
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
    .description('say whether the node runs, with its pid, URLs and version')
    .action(() => io.exit(status(paths(), io)));
}
