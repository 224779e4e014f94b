/**
 * Downloads during a flood of PIN guesses (docs/security.md): raw.bin of a 4 MiB payload, one at
 * a time, first on a quiet node, then while 32 API tokens send wrong PINs as fast as they are
 * answered (each PIN an Argon2id derivation of 64 MiB, the production cost). Before Tendril
 * bounded derivations, such a flood filled libuv's pool and raw.bin took seconds, then timed out.
 *
 * Ceiling: the same downloads on the quiet node. Target: the p99 during the flood within 4× the
 * quiet p99 — derivations run one at a time but without pause, so one of a two-core machine's
 * cores is theirs, and downloads verify each payload's SHA-512 on the other. Beside it, what the flood achieved: guesses answered, of them 429, and wrong PINs the
 * node actually derived (node.security.wrong_pins).
 */
import { randomBytes } from 'node:crypto';
import { fmt, HARRY, makeInstance, removeInstance, startTendril, tendril } from './harness.js';
import { insertFrame, MULTIPART, percentile, timed } from './rhizome-client.js';

const GUESSERS = 32;
const PAYLOAD = 4 * 1024 * 1024;
const TARGET = 4;

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface PinFloodBench {
  readonly quiet: Latency;
  readonly flood: Latency;
  readonly guesses: number;
  readonly refused: number;
  readonly derived: number;
  readonly ratio: number;
}

async function downloads(url: string, seconds: number): Promise<Latency> {
  const times: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const r = await timed(url);
    if (r.status !== 200 || r.bytes !== PAYLOAD) throw new Error(`raw.bin: ${r.status}, ${r.bytes} bytes`);
    times.push(r.lastMs);
  }
  times.sort((a, b) => a - b);
  return { count: times.length, p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]! };
}

export async function benchPinFlood(seconds: number): Promise<PinFloodBench> {
  const instance = await makeInstance();
  const tokens: string[] = [];
  for (let i = 0; i < GUESSERS; i++) tokens.push((await tendril(instance, ['web', 'generate-token', '--name', `guesser-${i}`])).trim());
  await tendril(instance, ['keyring', 'add', '--pin', 'the-right-pin']);
  const node = await startTendril(instance);
  try {
    const base = `http://127.0.0.1:${node.port}`;
    const { head, tail } = insertFrame('flood.bin');
    const added = await timed(`${base}/restful/rhizome/insert`, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [head, randomBytes(PAYLOAD), tail] });
    const bid = added.headers['serval-rhizome-bundle-id'];
    if (added.status !== 201 || typeof bid !== 'string') throw new Error(`insert: ${added.status}`);
    const raw = `${base}/restful/rhizome/${bid}/raw.bin`;
    await downloads(raw, 1);
    const quiet = await downloads(raw, seconds);

    let stop = false;
    let guesses = 0;
    let refused = 0;
    const guesser = async (token: string, g: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const r = await timed(`${base}/restful/keyring/identities.json?pin=guess-${g}-${n}`, { headers: { Authorization: `Bearer ${token}` } });
        guesses++;
        if (r.status === 429) refused++;
      }
    };
    const flooding = tokens.map(guesser);
    const flood = await downloads(raw, seconds);
    stop = true;
    await Promise.all(flooding);
    const status = await timed(`${base}/restful/system`, { headers: HARRY, keep: true });
    const derived = (JSON.parse(status.body!.toString()) as { node: { security: { wrong_pins: number } } }).node.security.wrong_pins;
    return { quiet, flood, guesses, refused, derived, ratio: flood.p99 / quiet.p99 };
  } finally {
    await node.stop();
    removeInstance(instance);
  }
}

export function reportPinFlood(b: PinFloodBench): string[] {
  const row = (what: string, l: Latency): string => `| ${what} | ${fmt(l.count)} | ${fmt(l.p50, 1)} | ${fmt(l.p99, 1)} | ${fmt(l.max, 1)} |`;
  return [
    `| raw.bin of ${PAYLOAD / 1024 / 1024} MiB, one at a time | downloads | p50 ms | p99 ms | max ms |`,
    '|---|---:|---:|---:|---:|',
    row('quiet node (ceiling)', b.quiet),
    row(`during ${GUESSERS} tokens' flood of wrong PINs`, b.flood),
    '',
    `p99 during the flood: **${fmt(b.ratio, 2)}×** the quiet p99 (target ≤ ${TARGET}×: **${b.ratio <= TARGET ? 'met' : 'missed'}**). ` +
      `The flood sent ${fmt(b.guesses)} guesses, ${fmt(b.refused)} answered 429; the node derived ${fmt(b.derived)} wrong PINs (Argon2id, 64 MiB, one at a time).`,
  ];
}
