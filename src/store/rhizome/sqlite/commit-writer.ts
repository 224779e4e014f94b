/**
 * The commit writer: a worker thread with its own connection to the store's database, which runs
 * group commits (group-commit.ts) one at a time as the main thread sends them.
 *
 * Why a thread: a group commit is mostly SQLite writing pages to the WAL, the WAL fsync of
 * synchronous=FULL and now and then a checkpoint, ~1 ms per group of ten small inserts on the
 * benchmark machine, which on the event-loop thread held up every other request
 * (docs/benchmarks.md). Here it overlaps the parsing, signing and hashing of the next requests,
 * and the group waiting on the main thread grows meanwhile. Durability is unchanged: the main
 * thread answers a commit only when this thread reports its COMMIT done.
 *
 * It also hashes the payloads too large to stay in memory, as they stream in (hash-thread.ts).
 *
 * Nothing here is shared with the main thread but the database and the files: SQLite's locking
 * serialises this connection with the main thread's own writes (eviction, setAuthor, vacuum).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeGroup } from './commit-codec.js';
import { toWireError, WriterState, type FromWriter, type ToWriter, type WriterData } from './commit-wire.js';
import { openConnection } from './connection.js';
import { groupCommit } from './group-commit.js';
import { serveHashes } from './hash-thread.js';
import { prepareStatements } from './statements.js';

const port = parentPort!;
const { layout, busyTimeoutMs, state: stateBuffer, hashes } = workerData as WriterData;
serveHashes(hashes);
const state = new Int32Array(stateBuffer);
const post = (message: FromWriter): void => port.postMessage(message);
const setState = (value: number): void => {
  Atomics.store(state, 0, value);
  Atomics.notify(state, 0);
};

let context: Parameters<typeof groupCommit>[0] | undefined;
let openError: unknown;
try {
  const db = openConnection(layout.dbFile, busyTimeoutMs);
  context = { db, statements: prepareStatements(db), layout };
  setState(WriterState.OPEN);
} catch (err) {
  // Every group is refused with this error; the main thread's own connection opened fine, so
  // this is rare (a lock held past the busy timeout at the wrong moment).
  openError = err;
  setState(WriterState.CLOSED);
}

port.on('message', (message: ToWriter) => {
  if (message.type === 'close') {
    try {
      context?.db.close();
    } catch {
      // Closing cannot lose anything committed; the main thread goes on closing.
    }
    context = undefined;
    setState(WriterState.CLOSED);
    post({ type: 'closed' });
    hashes.close();
    port.close();
    return;
  }
  if (context === undefined) {
    post({ type: 'failed', error: toWireError(openError ?? new Error('Rhizome store closed')) });
    return;
  }
  post(groupCommit(context, decodeGroup(message.group)));
});
