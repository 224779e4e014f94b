/**
 * Spent payload buffers, given back promptly. A large transfer goes through memory in buffers
 * that live for a moment each — the socket's reads of an upload, the file reads of a download —
 * and V8 frees a buffer only when a collection finds its owner dead. Little else is allocated
 * meanwhile, so collections are rare, and tens of megabytes of spent buffers wait for one: the
 * 1 GiB in-and-out test saw the node's RSS rise ~45 MB over idle, two thirds of it such buffers.
 * So after every RECLAIM_EVERY bytes moved, a young-generation collection runs (a scavenge,
 * well under a millisecond here): spent buffers stay within that many bytes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const RECLAIM_EVERY = 8 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major' }) => void;

/** V8's gc(), reached without a command-line flag; undefined where V8 refuses. */
const collect: Collect | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Collect;
  } catch {
    return undefined;
  }
})();

let moved = 0;

/** Counts `bytes` of payload moved through short-lived buffers; collects spent ones now and then. */
export function spent(bytes: number): void {
  moved += bytes;
  if (moved < RECLAIM_EVERY) return;
  moved = 0;
  collect?.({ type: 'minor' });
}
