/**
 * Self time per function of a `node --cpu-prof` profile (TENDRIL_BENCH_CPU_PROF), as shares of the
 * profile's wall time, `(idle)` and `(garbage collector)` included, and of its busy (non-idle) time:
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP=25] [FROM_S TO_S]
 *
 * FROM_S and TO_S keep only the samples between those seconds of the profile (the node's life
 * includes start-up, warm-up and, in interleaved benchmarks, the rounds of the other servers).
 * Samples are attributed to the function on top of the stack (V8's own attribution), merged by
 * name, file and line. The profiler samples wall time: a thread descheduled by the kernel shows as
 * the function it was in, so on a busy machine read /proc CPU figures (harness.ts) beside it.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [TOP] [FROM_S TO_S]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const from = fromArg === undefined ? 0 : Number(fromArg) * 1e6;
const to = toArg === undefined ? Number.POSITIVE_INFINITY : Number(toArg) * 1e6;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
let idle = 0;
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < from || at > to) continue;
  const frame = byId.get(profile.samples[i]!)!.callFrame;
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/(src|node_modules|bench|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
  const key = `${frame.functionName || '(anonymous)'}${where}`;
  // A sample's time is the delta to the next sample.
  const us = profile.timeDeltas[i + 1] ?? 0;
  total += us;
  if (frame.functionName === '(idle)') idle += us;
  self.set(key, (self.get(key) ?? 0) + us);
}
const busy = total - idle;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s, ${((100 * busy) / total).toFixed(1)} % busy\n`);
process.stdout.write('  % wall  % busy       ms  function\n');
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) {
  const ofBusy = key.startsWith('(idle)') ? '' : ((100 * us) / busy).toFixed(1);
  process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(7)} ${ofBusy.padStart(7)} ${(us / 1000).toFixed(0).padStart(8)}  ${key}\n`);
}
