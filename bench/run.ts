/**
 * `npm run bench [-- --seconds N] [-- only NAME…]`: every benchmark, each beside its ceiling
 * measured in the same run. Prints a Markdown report and writes bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.js';
import { benchKeyring, reportKeyring } from './keyring.js';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg === -1 ? 10 : Number(args[secondsArg + 1]);
const only = args.includes('only') ? args.slice(args.indexOf('only') + 1) : undefined;
const wanted = (name: string): boolean => only === undefined || only.includes(name);

const results: Record<string, unknown> = {};
const lines: string[] = [
  `# Tendril benchmarks — ${new Date().toISOString()}`,
  '',
  `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${seconds} s per measurement, loopback.`,
  '',
];

if (wanted('keyring')) {
  const b = await benchKeyring(seconds);
  results.keyring = b;
  lines.push('## Keyring', '', ...reportKeyring(b), '');
}

const report = lines.join('\n');
process.stdout.write(`${report}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), JSON.stringify(results, null, 2));
writeFileSync(join(ROOT, 'bench/results/latest.md'), report);
