/**
 * identities.json with 16 connections, beside a bare node:http hello-world (the HTTP ceiling).
 * Target: at least 0.6 of the ceiling. The ceiling and both nodes run side by side and are
 * measured in alternating rounds (harness.ts interleave). With --reference, the same request to the
 * reference (the same four identities) and to both nodes, with wrk: target at least 4 × the
 * reference.
 */
import { fmt, HARRY, interleave, makeInstance, removeInstance, startHello, startTendril, tendril, type LoadResult, type Proc } from './harness.js';
import { ensureReferenceIdentities, reportVersus, roundRatios, versusReference, type Reference, type Versus } from './reference.js';

export interface KeyringBench {
  readonly ceiling: LoadResult;
  /** Default config: one info log line per request. */
  readonly identities: LoadResult;
  /** log.level=warn: no per-request log line. */
  readonly quiet: LoadResult;
  readonly ratio: number;
  readonly quietRatio: number;
  readonly versus?: Versus;
}

const TARGET = 0.6;
const NAMES = ['Alice', 'Bob', 'Carol', 'Dave'];

async function identitiesNode(config: Record<string, string>): Promise<{ instance: string; node: Proc & { port: number } }> {
  const instance = await makeInstance(config);
  for (const name of NAMES) await tendril(instance, ['keyring', 'add', '--name', name, '--did', '5551234']);
  return { instance, node: await startTendril(instance) };
}

export async function benchKeyring(seconds: number, reference?: Reference): Promise<KeyringBench> {
  if (reference) await ensureReferenceIdentities(reference, NAMES);
  const hello = await startHello();
  const nodes = [await identitiesNode({}), await identitiesNode({ 'log.level': 'warn' })];
  try {
    const path = '/restful/keyring/identities.json';
    const subjects = nodes.map(({ node }) => ({ options: { url: `http://127.0.0.1:${node.port}${path}`, connections: 16, headers: HARRY }, pid: node.child.pid }));
    const [ceiling, identities, quiet] = await interleave(
      [{ options: { url: `http://127.0.0.1:${hello.port}/`, connections: 16 }, pid: hello.child.pid }, ...subjects],
      seconds,
      Math.max(1, Math.round(seconds / 2)),
    );
    const versus = reference
      ? await versusReference(
          'identities.json (4 identities), 16 connections',
          [
            { label: 'Tendril, default config', subject: subjects[0]! },
            { label: 'Tendril, log.level=warn', subject: subjects[1]! },
          ],
          { options: { url: `${reference.origin}${path}`, connections: 16, headers: HARRY }, pid: reference.pid },
          seconds,
          4,
        )
      : undefined;
    return {
      versus,
      ceiling: ceiling!,
      identities: identities!,
      quiet: quiet!,
      ratio: identities!.requestsPerSecond / ceiling!.requestsPerSecond,
      quietRatio: quiet!.requestsPerSecond / ceiling!.requestsPerSecond,
    };
  } finally {
    await hello.stop();
    for (const { instance, node } of nodes) {
      await node.stop();
      removeInstance(instance);
    }
  }
}

export function reportKeyring(b: KeyringBench): string[] {
  const cpu = (r: LoadResult): string => (r.cpuUs === undefined ? '' : `${fmt(r.cpuUs.main + r.cpuUs.other)}`);
  const row = (label: string, r: LoadResult, ratio: string): string =>
    `| ${label} | ${fmt(r.requestsPerSecond)} | ${ratio} | ${r.p50Ms} | ${r.p99Ms} | ${cpu(r)} | ${r.errors} / ${r.non2xx} |`;
  const met = (ratio: number): string => (ratio >= TARGET ? 'met' : 'missed');
  return [
    '| identities.json (4 identities), 16 connections | req/s | ratio (rounds) | p50 ms | p99 ms | server CPU µs/req | errors / non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('bare node:http hello-world (ceiling)', b.ceiling, '1.00'),
    row('Tendril identities.json, default config (a log line per request)', b.identities, `${fmt(b.ratio, 2)} (${roundRatios(b.identities, b.ceiling)})`),
    row('Tendril identities.json, log.level=warn', b.quiet, `${fmt(b.quietRatio, 2)} (${roundRatios(b.quiet, b.ceiling)})`),
    '',
    `Target: at least ${TARGET} of the ceiling — default config: **${met(b.ratio)}**, log.level=warn: **${met(b.quietRatio)}**. ` +
      `The three servers ran side by side, measured in ${b.ceiling.rounds?.length ?? 1} alternating rounds.`,
    ...(b.versus ? ['', ...reportVersus(b.versus)] : []),
  ];
}
