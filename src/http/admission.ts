/**
 * Admission control: how many connections and long-polls the node holds, in all and per client
 * address, so that one client (or a crowd) cannot use up the process's file descriptors or memory
 * and leave everyone else unanswered. A connection over a limit is refused as it arrives; a
 * long-poll over a limit is answered at once with a JSON result instead of held.
 *
 * A dedicated web server's clients all reach the node over its control socket, so for requests it
 * forwards the client is the address it reports, and their requests in progress count as that
 * client's connections. Each 127.x.y.z address and ::1 is a client of its own (a TLS terminator
 * on this host is one client: raise the per-client limits for it).
 */
import type { ErrorCode } from '../errors.js';
import type { SecurityCounters } from '../services/guard/counters.js';

export interface AdmissionLimits {
  /** Connections of the TCP listeners, all together (keep well under `ulimit -n`). */
  readonly connections: number;
  readonly connectionsPerClient: number;
  readonly longPolls: number;
  readonly longPollsPerClient: number;
}

/**
 * The defaults fit a local application holding a thousand long-polls (the fan-out benchmark) and
 * keep the process far from the usual file limits; a server facing the internet should lower the
 * per-client ones (docs/security.md).
 */
export const DEFAULT_LIMITS: AdmissionLimits = Object.freeze({
  connections: 4096,
  connectionsPerClient: 1024,
  longPolls: 4096,
  longPollsPerClient: 1024,
});

/** Admitted: call the function when it ends. Refused: the error to answer with. */
export type Admitted = (() => void) | ErrorCode;

class Counter {
  total = 0;
  private readonly perClient = new Map<string, number>();

  enter(client: string, total: number | undefined, perClient: number, codes: readonly [ErrorCode, ErrorCode]): Admitted {
    const mine = this.perClient.get(client) ?? 0;
    if (total !== undefined && this.total >= total) return codes[0];
    if (mine >= perClient) return codes[1];
    if (total !== undefined) this.total++;
    this.perClient.set(client, mine + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (total !== undefined) this.total--;
      const now = (this.perClient.get(client) ?? 1) - 1;
      if (now === 0) this.perClient.delete(client);
      else this.perClient.set(client, now);
    };
  }

  get clients(): number {
    return this.perClient.size;
  }
}

const CONNECTION_CODES = ['LIMIT_CONNECTIONS', 'LIMIT_CLIENT_CONNECTIONS'] as const;
const LONG_POLL_CODES = ['LIMIT_LONG_POLLS', 'LIMIT_CLIENT_LONG_POLLS'] as const;

export class Admission {
  private readonly connections = new Counter();
  private readonly longPolls = new Counter();

  constructor(
    private readonly limits: () => AdmissionLimits,
    private readonly counters?: SecurityCounters,
  ) {}

  /** A TCP connection from `client`. */
  connection(client: string): Admitted {
    const l = this.limits();
    return this.counted(this.connections.enter(client, l.connections, l.connectionsPerClient, CONNECTION_CODES), 'connection');
  }

  longPoll(client: string): Admitted {
    const l = this.limits();
    return this.counted(this.longPolls.enter(client, l.longPolls, l.longPollsPerClient, LONG_POLL_CODES), 'longPoll');
  }

  stats(): { connections: number; longPolls: number; clients: number } {
    return { connections: this.connections.total, longPolls: this.longPolls.total, clients: this.connections.clients };
  }

  private counted(admitted: Admitted, what: 'connection' | 'longPoll'): Admitted {
    if (typeof admitted === 'string' && this.counters) {
      if (what === 'connection') this.counters.connectionsRefused++;
      else this.counters.longPollsRefused++;
    }
    return admitted;
  }
}
