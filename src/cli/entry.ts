/** The executable entry point: runs the CLI with this process's arguments. */
import { main } from './main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tendril: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
