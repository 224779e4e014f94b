/**
 * A TCP proxy on loopback between two nodes, for sync tests and benchmarks: it counts the bytes
 * each way (what crossed the wire, HTTP framing included), can cut every connection and refuse
 * new ones (a network partition) and heal, and can slow the traffic down to a rate.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Bytes from the client (the dialling node) to the target, and back. */
  readonly up: number;
  readonly down: number;
  /** Connections accepted so far. */
  readonly connections: number;
  resetCounters(): void;
  /** Closes every connection and refuses new ones until heal(). */
  cut(): void;
  heal(): void;
  /** Limits each direction to about this many bytes a second (undefined: no limit). */
  limit(bytesPerSecond: number | undefined): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<TcpProxy> {
  let up = 0;
  let down = 0;
  let connections = 0;
  let partitioned = false;
  let rate: number | undefined;
  const sockets = new Set<Socket>();

  /** Copies `from` to `to`, counting, pausing `from` to hold the rate. */
  const pump = (from: Socket, to: Socket, count: (n: number) => void): void => {
    let windowStart = Date.now();
    let windowBytes = 0;
    from.on('data', (chunk: Buffer) => {
      count(chunk.length);
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (rate !== undefined) {
        windowBytes += chunk.length;
        const due = windowStart + (windowBytes / rate) * 1000;
        const wait = due - Date.now();
        if (wait > 0) {
          from.pause();
          setTimeout(() => from.resume(), wait);
        }
        if (Date.now() - windowStart > 1000) {
          windowStart = Date.now();
          windowBytes = 0;
        }
      }
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => to.destroy());
  };

  const server: Server = createServer((client) => {
    if (partitioned) {
      client.destroy();
      return;
    }
    connections++;
    const target = connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, target]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.setNoDelay(true);
    }
    pump(client, target, (n) => (up += n));
    pump(target, client, (n) => (down += n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get up() {
      return up;
    },
    get down() {
      return down;
    },
    get connections() {
      return connections;
    },
    resetCounters() {
      up = 0;
      down = 0;
    },
    cut() {
      partitioned = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      partitioned = false;
    },
    limit(bytesPerSecond) {
      rate = bytesPerSecond;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
