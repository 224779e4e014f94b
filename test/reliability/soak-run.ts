/**
 * The soak (Reliability): a node in a child process of its own, so its RSS (/proc/PID/status)
 * and open descriptors (/proc/PID/fd) are its own, under the mixed load of soak-load.ts for
 * `seconds`, sampled every `sampleEverySeconds`: RSS, descriptors, the node's event-loop delay
 * (GET /restful/system), requests done and failed, store size.
 *
 * The load runs in two phases with a pause after each: a warm-up (caches, JIT, the store's first
 * pages), then the measured load. In each pause every connection is closed and the node's
 * descriptors are counted once they settle, so the two idle counts compare like with like: a
 * descriptor the load leaked is one more after it. soak-report.ts judges the curves.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rssBytes, spawnNode } from '../helpers/child-node.js';
import { makeInstance } from '../helpers/node.js';
import { SoakClient } from './soak-client.js';
import { startLoad, type LoadOptions, type RunningLoad } from './soak-load.js';
import { judge, type Sample, type SoakReport } from './soak-report.js';
import { expectJson, World } from './soak-world.js';

export interface SoakOptions extends Partial<LoadOptions> {
  readonly seconds: number;
  /** Default: a twentieth of the run, at most 10 s. */
  readonly sampleEverySeconds?: number;
  /** api.restful.newsince_timeout of the node: how long a long-poll lasts (default 5 s). */
  readonly newsinceSeconds?: number;
  /** Where to write the report as JSON. */
  readonly jsonPath?: string;
  /** Told each sample as it is taken. */
  readonly onSample?: (sample: Sample, previous: Sample | undefined) => void;
}

const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/**
 * Waits until the node has let go of the load: first `longPollMs`, because a long-poll its client
 * dropped keeps its connection until its end time (the node cannot tell a client that went away
 * from one that half-closed after its request and still awaits the answer, and a paused long-poll
 * writes nothing that would fail), then until the descriptor count holds still for a second.
 */
async function settle(pid: number, longPollMs: number): Promise<void> {
  await sleep(longPollMs);
  let last = -1;
  let still = 0;
  for (let i = 0; i < 50 && still < 5; i++) {
    await sleep(200);
    const now = openFds(pid);
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

interface NodeStatus {
  node: { bundles: number; store_bytes: number; event_loop_delay: { p50_ms: number; p99_ms: number; max_ms: number } };
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const load: LoadOptions = {
    workers: options.workers ?? 12,
    longPolls: options.longPolls ?? 100,
    thinkMs: options.thinkMs ?? 40,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  };
  const newsinceSeconds = options.newsinceSeconds ?? 5;
  const sampleEveryMs = (options.sampleEverySeconds ?? Math.min(10, options.seconds / 20)) * 1000;
  const warmUpSeconds = Math.min(60, Math.max(5, Math.round(options.seconds * 0.15)));
  const paths = makeInstance({ 'api.restful.newsince_timeout': String(newsinceSeconds) });
  const node = await spawnNode(paths);
  const world = new World(node.port, newsinceSeconds * 1000);
  // The sampler opens a connection per sample, so none of its own is open when descriptors are counted.
  const sampler = new SoakClient(node.port, load.requestTimeoutMs, false);
  const samples: Sample[] = [];
  const started = performance.now();
  let nodeExit: NodeJS.Signals | number | null | 'running' = 'running';

  const sample = async (phase: Sample['phase'], running: RunningLoad | undefined): Promise<Sample> => {
    // Process figures first: the status request below opens a connection of its own.
    const rss = rssBytes(node.pid);
    const fds = openFds(node.pid);
    const connections = running?.openConnections() ?? 0;
    let status: NodeStatus | undefined;
    try {
      status = expectJson<NodeStatus>(await sampler.get('/restful/system'), 'system');
      world.stats.ok('system');
    } catch (err) {
      world.stats.fail('system', err);
    }
    const s: Sample = {
      seconds: Math.round((performance.now() - started) / 100) / 10,
      phase,
      rssMb: Math.round((rss / MB) * 10) / 10,
      fds,
      connections,
      lagP50Ms: status?.node.event_loop_delay.p50_ms ?? null,
      lagP99Ms: status?.node.event_loop_delay.p99_ms ?? null,
      lagMaxMs: status?.node.event_loop_delay.max_ms ?? null,
      requests: world.stats.requests(),
      failures: world.stats.failureCount,
      bundles: status?.node.bundles ?? null,
      storeMb: status ? Math.round((status.node.store_bytes / MB) * 10) / 10 : null,
    };
    options.onSample?.(s, samples.at(-1));
    samples.push(s);
    return s;
  };

  /** Runs the load for `seconds`, sampling; then stops it, lets the node settle and samples it idle. */
  const phase = async (name: 'warm-up' | 'load', seconds: number): Promise<Sample> => {
    const running = startLoad(world, load);
    const end = performance.now() + seconds * 1000;
    for (let next = performance.now() + sampleEveryMs; next < end - sampleEveryMs / 2; next += sampleEveryMs) {
      await sleep(next - performance.now());
      await sample(name, running);
    }
    await sleep(end - performance.now());
    await running.stop();
    await settle(node.pid, world.newsinceTimeoutMs);
    return sample('idle', undefined);
  };

  try {
    const setup = new SoakClient(node.port, load.requestTimeoutMs);
    await world.start(setup);
    setup.close();
    await sample('idle', undefined);
    const afterWarmUp = await phase('warm-up', warmUpSeconds);
    const afterLoad = await phase('load', options.seconds - warmUpSeconds);
    await node.stop();
    nodeExit = await node.exited;
    const report = judge({
      seconds: options.seconds,
      warmUpSeconds,
      newsinceSeconds,
      load,
      samples,
      idle: { afterWarmUp, afterLoad },
      operations: Object.fromEntries([...world.stats.done].sort(([a], [b]) => a.localeCompare(b))),
      requests: world.stats.requests(),
      failures: world.stats.failureCount,
      firstFailures: world.stats.failures,
      nodeExit,
      nodeStderr: node.stderr(),
    });
    if (options.jsonPath) writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    sampler.close();
    if (nodeExit === 'running') await node.stop();
    rmSync(paths.root, { recursive: true, force: true });
  }
}
