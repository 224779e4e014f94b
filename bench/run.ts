/**
 * `npm run bench [-- --seconds N] [-- only NAME…]`: every benchmark, each beside its ceiling
 * measured in the same run. Prints a Markdown report and writes bench/results/latest.json.
 *
 * Names: keyring; insert (small inserts/s), large (64 MiB insert and raw.bin MB/s), list
 * (bundlelist.json with 1,000 and 10,000 bundles), fanout (newsince to 1,000 clients); rhizome = those four;
 * meshms (sendmessage rates, messagelist.json); web (identities.json through each kind of web
 * server); metrics (identities.json with metrics on and off; the typed client beside bare
 * node:http); ui (the web UI's transferred bytes and first render in headless Chromium); sync
 * (Tendril sync between nodes: reconciliation, first sync, live propagation, a 256 MiB payload);
 * pinflood (raw.bin during a flood of wrong PINs); memory (the node's RSS while 1 GiB goes in and out). With `--reference URL` (a running servald,
 * or any Serval-compatible server, with the user harry/potter), the sections that have the same
 * workload there (keyring, list, insert, large) measure it in the same alternating rounds and
 * report Tendril / reference ratios (bench/reference.ts).
 * With TENDRIL_BENCH_CPU_PROF=DIR, every Tendril node runs under `node --cpu-prof` (profiles in
 * DIR; bench/profile-summary.ts reads them). The machine's load average is recorded
 * before and after each section: the figures mean little without it on a shared machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadAverage, ROOT } from './harness.js';
import { MachineMonitor, type ForeignLoad } from './machine.js';
import { benchKeyring, reportKeyring } from './keyring.js';
import { benchMeshms, reportMeshms } from './meshms.js';
import { benchPinFlood, reportPinFlood } from './pin-flood.js';
import { benchFanout, reportFanout } from './rhizome-fanout.js';
import { benchInsert, reportInsert } from './rhizome-insert.js';
import { benchLarge, reportLarge } from './rhizome-large.js';
import { benchList, reportList } from './rhizome-list.js';
import { benchWeb, reportWeb } from './web.js';
import { referenceArg } from './reference.js';
import { benchMemory, reportMemory } from './memory.js';
import { benchMetrics, reportMetrics } from './metrics.js';
import { benchUi, reportUi } from './ui.js';
import { benchSync, reportSync } from './sync.js';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg === -1 ? 10 : Number(args[secondsArg + 1]);
const reference = referenceArg(args);
// Section names: the words after `only`, options and their values left out.
const names = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const only = names.includes('only') ? names.slice(names.indexOf('only') + 1) : undefined;
const RHIZOME = ['insert', 'large', 'list', 'fanout'];
const wanted = (name: string): boolean =>
  only === undefined || only.includes(name) || (RHIZOME.includes(name) && only.includes('rhizome'));

const results: Record<string, unknown> = {};
const started = new Date();
const startLoad = loadAverage();
const lines: string[] = [
  `# Tendril benchmarks — ${started.toISOString()}`,
  '',
  `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${seconds} s per measurement, loopback.`,
  '',
  ...(reference
    ? [`Reference (\`--reference\`): ${reference.origin}, ${reference.pid === undefined ? 'its process not found (no CPU figures for it)' : `pid ${reference.pid}`}.`, '']
    : []),
];
const loads: string[] = [];
const monitor = new MachineMonitor();
if (reference?.pid !== undefined) monitor.exclude(reference.pid);
monitor.start();
const foreign = (f: ForeignLoad): string =>
  `${f.meanPercent.toFixed(0)} % (peak ${f.peakPercent.toFixed(0)} %; a process above half a core in ${f.busySamples} of ${f.samples} samples${f.top.length > 0 ? `; busiest: ${f.top.join(', ')}` : ''})`;

async function section<T>(name: string, title: string, bench: () => Promise<T>, report: (b: T) => string[]): Promise<void> {
  if (!wanted(name)) return;
  process.stderr.write(`bench: ${name}…\n`);
  const before = loadAverage();
  const sectionStarted = Date.now();
  monitor.take();
  const b = await bench();
  const after = loadAverage();
  const others = monitor.take();
  results[name] = { ...b, loadBefore: before, loadAfter: after, foreign: others };
  loads.push(`| ${name} | ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s | ${before} | ${after} | ${foreign(others)} |`);
  lines.push(
    `## ${title}`,
    '',
    ...report(b),
    '',
    `Load average (1, 5, 15 min) before: ${before}; after: ${after}. Other processes' CPU meanwhile, in % of one core: ${foreign(others)}.`,
    '',
  );
}

await section('keyring', 'Keyring', () => benchKeyring(seconds, reference), reportKeyring);
// The list before the inserts: with --reference, the reference's store then holds only the list's bundles.
await section('list', 'Rhizome: bundlelist.json with 1,000 and 10,000 bundles', () => benchList(seconds, reference), reportList);
await section('insert', 'Rhizome: small-bundle inserts', () => benchInsert(seconds, reference), reportInsert);
await section('large', 'Rhizome: 64 MiB insert and raw.bin', () => benchLarge(seconds, reference), reportLarge);
await section('fanout', 'Rhizome: newsince fan-out to 1,000 clients', () => benchFanout(), reportFanout);
await section('meshms', 'MeshMS', () => benchMeshms(seconds), reportMeshms);
await section('web', 'Web servers', () => benchWeb(seconds), reportWeb);
await section('metrics', 'Metrics and the typed client', () => benchMetrics(seconds), reportMetrics);
await section('ui', 'Web UI: weight and first render', () => benchUi(), reportUi);
await section('sync', 'Tendril sync between two nodes', () => benchSync(seconds), reportSync);
await section('pinflood', 'Downloads during a flood of PIN guesses', () => benchPinFlood(seconds), reportPinFlood);
await section('memory', 'Memory: 1 GiB in and out', () => benchMemory(), reportMemory);

lines.push(
  '## Machine load',
  '',
  `Load average (1, 5, 15 min) at the start: ${startLoad}; at the end: ${loadAverage()}; ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s in all.`,
  '',
  '| section | took | load before | load after | CPU of other processes, % of one core: mean |',
  '|---|---:|---|---|---|',
  ...loads,
  '',
);
monitor.stop();

const report = lines.join('\n');
process.stdout.write(`${report}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), JSON.stringify(results, null, 2));
writeFileSync(join(ROOT, 'bench/results/latest.md'), report);
