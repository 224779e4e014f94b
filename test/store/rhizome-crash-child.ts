/**
 * Run by rhizome-crash.test.ts in a child process, which it SIGKILLs at a random moment: commits
 * bundles forever, several at a time, with empty, inline and file payloads, replacements of
 * earlier bundle ids and repeated payloads (dedupe). After each commit resolves it prints
 * `BID VERSION FILEHASH|-` (stdout to a pipe is synchronous on Linux, so a printed line is a
 * commit the store acknowledged before the kill).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { openRhizomeStore } from '../../src/store/rhizome/open.js';
import { makeBundle, writePayload } from './rhizome-helpers.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: rhizome-crash-child.ts STORE_DIR');

const store = await openRhizomeStore({ dir, databaseSize: undefined, minFreeSpace: 0n, maxBlobSize: 4096 });
process.stdout.write('ready\n');

const known: Array<{ bid: Buffer; version: bigint }> = [];
const payloads: Buffer[] = [];

function nextPayload(): Buffer {
  const pick = randomInt(10);
  if (pick < 2) return Buffer.alloc(0);
  if (pick < 3 && payloads.length > 0) return payloads[randomInt(payloads.length)]!;
  const bytes = randomBytes(pick < 6 ? randomInt(1, 4096) : randomInt(4097, 300_000));
  payloads.push(bytes);
  if (payloads.length > 20) payloads.shift();
  return bytes;
}

async function commitOne(): Promise<void> {
  const payload = nextPayload();
  const earlier = known.length > 0 && randomInt(3) === 0 ? known[randomInt(known.length)]! : undefined;
  const bid = earlier?.bid ?? randomBytes(32);
  const version = (earlier?.version ?? 0n) + BigInt(randomInt(1, 5));
  const bundle = makeBundle({ bid, version, payload });
  const outcome = await store.commit(bundle, await writePayload(store, payload, 8192));
  if (outcome.kind === 'new') {
    if (earlier) earlier.version = version;
    else known.push({ bid, version });
  }
  const stored = outcome.bundle;
  process.stdout.write(`${stored.bid.toString('hex')} ${stored.version} ${stored.filehash?.toString('hex') ?? '-'}\n`);
}

async function main(): Promise<void> {
  for (;;) await Promise.all(Array.from({ length: randomInt(1, 9) }, () => commitOne()));
}

main().catch((err: unknown) => {
  process.stdout.write(`error ${String(err)}\n`);
  process.exit(1);
});
