/**
 * The soak's load: `workers` clients, each sending one request of the mix at a time with a random
 * think time between (the node is kept busy, not saturated: a soak looks for what accumulates, a
 * benchmark for how fast), and `longPolls` newsince long-polls held open at all times, each opened
 * again as soon as it ends. Most long-polls run to api.restful.newsince_timeout; one in
 * ABORT_ONE_IN is dropped part-way by its client, the path where a node forgets to let go of a
 * waiter. Rhizome long-polls resume from the token of the last row they saw, as a client follows
 * the store; one in ten starts from the beginning each time.
 */
import { randomInt } from 'node:crypto';
import { openLongPoll, SoakClient, type LongPoll } from './soak-client.js';
import { drawOperation, type OperationContext } from './soak-ops.js';
import { printable, type Pair, type World } from './soak-world.js';

const ABORT_ONE_IN = 8;
/** How long after its timeout a long-poll must have ended. */
const LONG_POLL_GRACE_MS = 15_000;
const TERMINATOR = '\n]\n}\n';

export interface LoadOptions {
  readonly workers: number;
  readonly longPolls: number;
  /** Mean pause between one worker's requests. */
  readonly thinkMs: number;
  readonly requestTimeoutMs: number;
}

export interface RunningLoad {
  /** Connections the load holds open now: long-polls and the workers' keep-alive sockets. */
  openConnections(): number;
  /** Stops sending, aborts the open long-polls, closes every connection; resolves when all is quiet. */
  stop(): Promise<void>;
}

interface Table {
  header: string[];
  rows: unknown[][];
}

export function startLoad(world: World, options: LoadOptions): RunningLoad {
  let stopping = false;
  const sleepers = new Set<() => void>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
  const clients = Array.from({ length: options.workers }, () => new SoakClient(world.port, options.requestTimeoutMs));
  const open = new Set<LongPoll>();

  const work = async (c: OperationContext): Promise<void> => {
    while (!stopping) {
      const op = drawOperation();
      try {
        await op.run(c);
        world.stats.ok(op.name);
      } catch (err) {
        world.stats.fail(op.name, err);
      }
      await sleep(randomInt(2 * options.thinkMs + 1));
    }
  };

  const longPoll = async (slot: number): Promise<void> => {
    // Staggered, so the long-polls do not all end (and open again) at once.
    await sleep(Math.floor((slot * world.newsinceTimeoutMs) / options.longPolls));
    const kind = slot % 10 < 6 ? 'bundlelist' : slot % 10 < 9 ? 'meshms' : 'meshmb';
    let token: string | undefined;
    while (!stopping) {
      let pair: Pair | undefined;
      let path: string;
      if (kind === 'bundlelist') {
        path = token === undefined || slot % 10 === 0 ? '/restful/rhizome/newsince/bundlelist.json' : `/restful/rhizome/newsince/${token}/bundlelist.json`;
      } else {
        pair = world.pair;
        pair.inflight++;
        path = kind === 'meshms' ? `/restful/meshms/${pair.a.sid}/${pair.b.sid}/newsince/messagelist.json` : `/restful/meshmb/${pair.a.identity}/newsince/messagelist.json`;
      }
      const poll = openLongPoll(world.port, path, world.newsinceTimeoutMs + LONG_POLL_GRACE_MS);
      open.add(poll);
      const dropAt = randomInt(ABORT_ONE_IN) === 0 ? setTimeout(() => poll.abort(), randomInt(100, world.newsinceTimeoutMs - 100)) : undefined;
      try {
        const end = await poll.done;
        if (end.aborted) {
          world.stats.ok('newsince dropped by client');
          continue;
        }
        if (end.status !== 200) throw new Error(`${end.status} ${printable(end.body)}`);
        if (!end.body.endsWith(TERMINATOR)) throw new Error(`ended without its terminator: …${printable(end.body.slice(-100))}`);
        const table = JSON.parse(end.body) as Table;
        if (kind === 'bundlelist') {
          const last = table.rows.at(-1)?.[table.header.indexOf('.token')];
          if (typeof last === 'string') token = last;
        }
        world.stats.ok(`newsince ${kind}`);
      } catch (err) {
        world.stats.fail(`newsince ${kind}`, err);
      } finally {
        clearTimeout(dropAt);
        open.delete(poll);
        if (pair) pair.inflight--;
      }
    }
  };

  const loops = [
    ...clients.map((client, i) => work({ world, client, worker: world.worker(i) })),
    ...Array.from({ length: options.longPolls }, (_, slot) => longPoll(slot)),
  ];

  return {
    openConnections: () => open.size + clients.reduce((n, c) => n + c.openSockets(), 0),
    async stop() {
      stopping = true;
      for (const wake of [...sleepers]) wake();
      for (const poll of [...open]) poll.abort();
      await Promise.all(loops);
      for (const client of clients) client.close();
    },
  };
}
