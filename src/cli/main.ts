/**
 * The command line: `tendril [--instance DIR] COMMAND`. Only this layer reads argv and the
 * environment; everything below receives plain values.
 */
import { Command, CommanderError } from 'commander';
import { isTendrilError } from '../errors.js';
import { instancePaths, resolveInstanceDir, type InstancePaths } from '../node/instance.js';
import { VERSION } from '../version.js';
import { registerConfigCommands } from './config-commands.js';
import { registerDirectCommands } from './direct-commands.js';
import { consoleIo, type Io } from './io.js';
import { registerKeyringCommands } from './keyring-commands.js';
import { registerMeshmbCommands } from './meshmb-commands.js';
import { registerMeshmsCommands } from './meshms-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerRhizomeCommands } from './rhizome-commands.js';
import { registerWebCommands } from './web-commands.js';

export function buildProgram(io: Io): Command {
  const program = new Command('tendril')
    .description('Tendril node daemon: keyring, Rhizome, MeshMS and MeshMB over a Serval-compatible REST API')
    .version(VERSION)
    .option('--instance <dir>', 'instance directory (default: $TENDRIL_INSTANCE_PATH or ~/.tendril)')
    .showHelpAfterError()
    .exitOverride();
  const paths = (): InstancePaths =>
    instancePaths(resolveInstanceDir(program.opts<{ instance?: string }>().instance));
  registerNodeCommands(program, paths, io);
  registerConfigCommands(program, paths, io);
  registerKeyringCommands(program, paths, io);
  registerRhizomeCommands(program, paths, io);
  registerDirectCommands(program, paths, io);
  registerMeshmbCommands(program, paths, io);
  registerMeshmsCommands(program, paths, io);
  registerWebCommands(program, paths, io);
  for (const cmd of program.commands) cmd.exitOverride();
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
    io.err(`tendril: ${isTendrilError(err) || err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
