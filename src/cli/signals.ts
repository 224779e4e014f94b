/** Waiting, in a command that runs until it is told to stop (a node, a web server). */

/** Resolves with the signal that asked to stop: Ctrl-C (through `interrupt`) or SIGTERM. */
export function untilStopped(interrupt: AbortSignal): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onTerm = (): void => resolve('SIGTERM');
    process.once('SIGTERM', onTerm);
    const onInt = (): void => {
      process.off('SIGTERM', onTerm);
      resolve('SIGINT');
    };
    if (interrupt.aborted) onInt();
    else interrupt.addEventListener('abort', onInt, { once: true });
  });
}
