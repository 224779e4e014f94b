/**
 * `npm run bench [-- --seconds N] [-- only NAME…]`: every benchmark, each beside its ceiling
 * measured in the same run. Prints a Markdown report and writes bench/results/latest.json.
 *
 * Names: keyring; insert (small inserts/s), large (64 MiB insert and raw.bin MB/s), list
 * (bundlelist.json with 10,000 bundles), fanout (newsince to 1,000 clients); rhizome = all four.
 * With TENDRIL_BENCH_CPU_PROF=DIR, every Tendril node runs under `node --cpu-prof` (profiles in DIR).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.js';
import { benchKeyring, reportKeyring } from './keyring.js';
import { benchFanout, reportFanout } from './rhizome-fanout.js';
import { benchInsert, reportInsert } from './rhizome-insert.js';
import { benchLarge, reportLarge } from './rhizome-large.js';
import { benchList, reportList } from './rhizome-list.js';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg === -1 ? 10 : Number(args[secondsArg + 1]);
const only = args.includes('only') ? args.slice(args.indexOf('only') + 1) : undefined;
const RHIZOME = ['insert', 'large', 'list', 'fanout'];
const wanted = (name: string): boolean =>
  only === undefined || only.includes(name) || (RHIZOME.includes(name) && only.includes('rhizome'));

const results: Record<string, unknown> = {};
const lines: string[] = [
  `# Tendril benchmarks — ${new Date().toISOString()}`,
  '',
  `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${seconds} s per measurement, loopback.`,
  '',
];

async function section<T>(name: string, title: string, bench: () => Promise<T>, report: (b: T) => string[]): Promise<void> {
  if (!wanted(name)) return;
  process.stderr.write(`bench: ${name}…\n`);
  const b = await bench();
  results[name] = b;
  lines.push(`## ${title}`, '', ...report(b), '');
}

await section('keyring', 'Keyring', () => benchKeyring(seconds), reportKeyring);
await section('insert', 'Rhizome: small-bundle inserts', () => benchInsert(seconds), reportInsert);
await section('large', 'Rhizome: 64 MiB insert and raw.bin', () => benchLarge(seconds), reportLarge);
await section('list', 'Rhizome: bundlelist.json with 10,000 bundles', () => benchList(seconds), reportList);
await section('fanout', 'Rhizome: newsince fan-out to 1,000 clients', () => benchFanout(), reportFanout);

const report = lines.join('\n');
process.stdout.write(`${report}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), JSON.stringify(results, null, 2));
writeFileSync(join(ROOT, 'bench/results/latest.md'), report);
