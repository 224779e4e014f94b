/**
 * The command line: `tendril [--instance DIR] COMMAND`. Only this layer reads argv and the
 * environment; everything below receives plain values.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isApiError } from '../client/index.js';
import { isTendrilError } from '../errors.js';
import { instancePaths, resolveInstanceDir, type InstancePaths } from '../node/instance.js';
import { VERSION } from '../version.js';
import { registerCompletionCommand } from './completion.js';
import { registerConfigCommands } from './config-commands.js';
import { registerDirectCommands } from './direct-commands.js';
import { consoleIo, EXIT_INTERRUPTED, type Io } from './io.js';
import { registerKeyringCommands } from './keyring-commands.js';
import { registerLogsCommand } from './logs-commands.js';
import { registerMeshmbCommands } from './meshmb-commands.js';
import { registerMeshmsCommands } from './meshms-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerRhizomeCommands } from './rhizome-commands.js';
import { registerWebCommands } from './web-commands.js';
import { registerSyncCommands } from './sync-commands.js';

/**
 * Commands that may run where no instance exists yet: `start` and `config set` create one (and
 * say so), `status` reports that there is none. Any other command there is most likely a
 * forgotten --instance, and is refused rather than made to create an empty instance.
 */
const MAY_CREATE = new Set(['start', 'config set', 'status', 'completion']);

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function buildProgram(io: Io): Command {
  const program = new Command('tendril')
    .description('Tendril node daemon: keyring, Rhizome, MeshMS and MeshMB over a Serval-compatible REST API')
    .version(VERSION)
    .option('--instance <dir>', 'instance directory (default: $TENDRIL_INSTANCE_PATH or ~/.tendril)')
    .showHelpAfterError()
    // Usage errors read like every other error of the CLI ("tendril: …").
    .configureOutput({ outputError: (text, write) => write(`tendril: ${text.replace(/^error: /, '')}`) })
    .exitOverride();
  const paths = (): InstancePaths =>
    instancePaths(resolveInstanceDir(program.opts<{ instance?: string }>().instance));
  program.hook('preAction', (_program, action) => {
    const root = paths().root;
    if (MAY_CREATE.has(commandPath(action)) || existsSync(root)) return;
    throw new Error(
      `no Tendril instance at ${root}: give --instance DIR or set TENDRIL_INSTANCE_PATH, or create one there with \`tendril start\``,
    );
  });
  registerNodeCommands(program, paths, io);
  registerLogsCommand(program, paths, io);
  registerConfigCommands(program, paths, io);
  registerKeyringCommands(program, paths, io);
  registerRhizomeCommands(program, paths, io);
  registerDirectCommands(program, paths, io);
  registerMeshmbCommands(program, paths, io);
  registerMeshmsCommands(program, paths, io);
  registerWebCommands(program, paths, io);
  registerSyncCommands(program, paths, io);
  registerCompletionCommand(program, io);
  const exitOverride = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: readonly string[], io: Io = consoleIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return io.code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof Error && err.name === 'AbortError' && io.signal.aborted) {
      io.err('tendril: interrupted');
      return EXIT_INTERRUPTED;
    }
    io.err(`tendril: ${isTendrilError(err) || isApiError(err) || err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
