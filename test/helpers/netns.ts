/**
 * Test support: a small LAN of network namespaces, one per node, joined by a veth pair (two hosts)
 * with a multicast route, so multicast DNS travels between them as on a real link and nowhere else.
 * Needs root (ip netns); `lanUnavailable()` says why it cannot be made here. Namespaces are removed
 * by `destroy()`, and at process exit if a test failed before it.
 */
import { execFileSync } from 'node:child_process';

export interface Lan {
  /** Namespace names, one per host. */
  readonly hosts: readonly string[];
  /** The IPv4 address of each host on the link. */
  readonly addresses: readonly string[];
  /** The command prefix that runs a program on host i. */
  wrap(i: number): string[];
  destroy(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Why namespaces cannot be made here (not root, no ip command, no permission), or undefined. */
export function lanUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces (ip netns)';
  const probe = `tdlprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (err) {
    return `cannot make a network namespace here: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Two hosts, 10.77.0.1 and 10.77.0.2 on one link (the namespaces keep the addresses private). */
export function makeLan(): Lan {
  const id = `${process.pid % 100_000}`;
  const hosts = [`tdl${id}a`, `tdl${id}b`];
  const links = [`tv${id}a`, `tv${id}b`];
  const addresses = ['10.77.0.1', '10.77.0.2'];
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const host of hosts) {
      try {
        // Whatever still runs in it was started by this test.
        for (const pid of ip('netns', 'pids', host).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
        ip('netns', 'del', host);
      } catch {
        // not made, or gone already
      }
    }
  };
  process.once('exit', destroy);
  try {
    for (const host of hosts) ip('netns', 'add', host);
    ip('link', 'add', links[0]!, 'type', 'veth', 'peer', 'name', links[1]!);
    hosts.forEach((host, i) => {
      ip('link', 'set', links[i]!, 'netns', host);
      ip('-n', host, 'addr', 'add', `${addresses[i]}/24`, 'dev', links[i]!);
      ip('-n', host, 'link', 'set', 'lo', 'up');
      ip('-n', host, 'link', 'set', links[i]!, 'up', 'multicast', 'on');
      ip('-n', host, 'route', 'add', '224.0.0.0/4', 'dev', links[i]!);
    });
  } catch (err) {
    destroy();
    throw err;
  }
  return { hosts, addresses, wrap: (i) => ['ip', 'netns', 'exec', hosts[i]!], destroy };
}
