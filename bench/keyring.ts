/**
 * identities.json with 16 connections, beside a bare node:http hello-world (the HTTP ceiling).
 * Target: at least 0.6 of the ceiling.
 */
import { fmt, HARRY, load, makeInstance, removeInstance, startHello, startTendril, tendril, type LoadResult } from './harness.js';

export interface KeyringBench {
  readonly ceiling: LoadResult;
  /** Default config: one info log line per request. */
  readonly identities: LoadResult;
  /** log.level=warn: no per-request log line. */
  readonly quiet: LoadResult;
  readonly ratio: number;
  readonly quietRatio: number;
}

async function measureIdentities(seconds: number, config: Record<string, string>): Promise<LoadResult> {
  const instance = await makeInstance(config);
  for (const name of ['Alice', 'Bob', 'Carol', 'Dave']) await tendril(instance, ['keyring', 'add', '--name', name, '--did', '5551234']);
  const node = await startTendril(instance);
  try {
    const url = `http://127.0.0.1:${node.port}/restful/keyring/identities.json`;
    await load({ url, connections: 16, seconds: 2, headers: HARRY });
    return await load({ url, connections: 16, seconds, headers: HARRY });
  } finally {
    await node.stop();
    removeInstance(instance);
  }
}

export async function benchKeyring(seconds: number): Promise<KeyringBench> {
  const hello = await startHello();
  let ceiling: LoadResult;
  try {
    await load({ url: `http://127.0.0.1:${hello.port}/`, connections: 16, seconds: 2 }); // warm-up
    ceiling = await load({ url: `http://127.0.0.1:${hello.port}/`, connections: 16, seconds });
  } finally {
    await hello.stop();
  }

  const identities = await measureIdentities(seconds, {});
  const quiet = await measureIdentities(seconds, { 'log.level': 'warn' });
  return {
    ceiling,
    identities,
    quiet,
    ratio: identities.requestsPerSecond / ceiling.requestsPerSecond,
    quietRatio: quiet.requestsPerSecond / ceiling.requestsPerSecond,
  };
}

export function reportKeyring(b: KeyringBench): string[] {
  return [
    '| identities.json (4 identities), 16 connections | req/s | p50 ms | p99 ms | errors / non-2xx |',
    '|---|---:|---:|---:|---:|',
    `| bare node:http hello-world (ceiling) | ${fmt(b.ceiling.requestsPerSecond)} | ${b.ceiling.p50Ms} | ${b.ceiling.p99Ms} | ${b.ceiling.errors} / ${b.ceiling.non2xx} |`,
    `| Tendril identities.json, default config (a log line per request) | ${fmt(b.identities.requestsPerSecond)} | ${b.identities.p50Ms} | ${b.identities.p99Ms} | ${b.identities.errors} / ${b.identities.non2xx} |`,
    `| Tendril identities.json, log.level=warn | ${fmt(b.quiet.requestsPerSecond)} | ${b.quiet.p50Ms} | ${b.quiet.p99Ms} | ${b.quiet.errors} / ${b.quiet.non2xx} |`,
    `| ratio to the ceiling (target ≥ 0.6): default / warn | ${fmt(b.ratio, 2)} / ${fmt(b.quietRatio, 2)} | | | |`,
  ];
}
