/**
 * The soak's request mix, each operation one request checked as a client would check it: the
 * status, and the body where the client knows what it must be (payloads and ranges byte for byte,
 * a journal's new length, JSON that parses). Weights give each operation's share of the requests.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { MANIFEST_TYPE, TEXT_UTF8, type Reply, type SoakClient } from './soak-client.js';
import { expectJson, expectStatus, hex, JOURNAL_MAX_BYTES, type OwnBundle, type Pair, type World, type WorkerState } from './soak-world.js';

export interface OperationContext {
  readonly world: World;
  readonly client: SoakClient;
  readonly worker: WorkerState;
}

export interface Operation {
  readonly name: string;
  readonly weight: number;
  run(c: OperationContext): Promise<void>;
}

interface Table {
  header: string[];
  rows: unknown[][];
}

const pick = <T>(items: readonly T[]): T | undefined => (items.length ? items[randomInt(items.length)] : undefined);

type StoredBundle = OwnBundle & { readonly bid: string; readonly payload: Buffer };

/** Runs `read` on a random bundle of the worker's that the store holds; before there is one, inserts. */
function readStored(c: OperationContext, read: (bundle: StoredBundle) => Promise<void>): Promise<void> {
  const bundle = pick(c.worker.bundles.filter((b): b is StoredBundle => b.payload !== undefined && b.bid !== undefined));
  return bundle ? read(bundle) : insert(c, c.worker.bundles[0]!);
}

function bundleId(reply: Reply, what: string): string {
  const bid = reply.headers['serval-rhizome-bundle-id'];
  if (typeof bid !== 'string') throw new Error(`${what}: no Serval-Rhizome-Bundle-Id header`);
  return bid;
}

async function insert(c: OperationContext, bundle: OwnBundle): Promise<void> {
  // Sizes on both sides of rhizome.max_blob_size (128 KiB): large payloads are kept in the
  // database or as files.
  const payload = randomBytes(bundle.large ? randomInt(96 * 1024, 160 * 1024) : randomInt(64, 4096));
  // Explicit, rising versions: the worker's next version is always new, however fast it inserts.
  const version = bundle.version + 1n;
  const reply = await c.client.postForm('/restful/rhizome/insert', [
    { name: 'bundle-secret', contentType: 'rhizome/bundlesecret; format=hex', body: bundle.secret },
    { name: 'manifest', contentType: MANIFEST_TYPE, body: `service=file\nname=soak-${c.worker.id}\nversion=${version}\n` },
    { name: 'payload', filename: `soak-${c.worker.id}.bin`, body: payload },
  ]);
  expectStatus(reply, 201, 'insert');
  bundle.bid = bundleId(reply, 'insert');
  bundle.version = version;
  bundle.payload = payload;
}

async function readRange(c: OperationContext, { bid, payload }: StoredBundle): Promise<void> {
  const first = randomInt(payload.length);
  const last = randomInt(first, payload.length);
  const reply = await c.client.get(`/restful/rhizome/${bid}/raw.bin`, { Range: `bytes=${first}-${last}` });
  const whole = first === 0 && last === payload.length - 1;
  expectStatus(reply, whole ? 200 : 206, 'raw.bin range');
  if (!reply.body.equals(payload.subarray(first, last + 1))) throw new Error(`raw.bin bytes=${first}-${last}: other bytes than inserted`);
}

async function append(c: OperationContext): Promise<void> {
  const journal = c.worker.journal;
  if (journal.size >= JOURNAL_MAX_BYTES) {
    journal.secret = hex(randomBytes(32));
    journal.bid = undefined;
    journal.size = 0;
  }
  const payload = randomBytes(randomInt(128, 1024));
  // Without its bundle-id an append starts a new journal (spec §3.9), whatever the secret.
  const bid = journal.bid === undefined ? [] : [{ name: 'bundle-id', contentType: 'rhizome/bid; format=hex', body: journal.bid }];
  const reply = await c.client.postForm('/restful/rhizome/append', [
    ...bid,
    { name: 'bundle-secret', contentType: 'rhizome/bundlesecret; format=hex', body: journal.secret },
    { name: 'manifest', contentType: MANIFEST_TYPE, body: `service=file\nname=soak-journal-${c.worker.id}\n` },
    { name: 'payload', body: payload },
  ]);
  expectStatus(reply, 201, 'append');
  const filesize = /^filesize=(\d+)$/m.exec(reply.body.toString('latin1'))?.[1];
  if (Number(filesize) !== journal.size + payload.length) throw new Error(`append: filesize ${filesize}, expected ${journal.size + payload.length}`);
  journal.size += payload.length;
  journal.bid = bundleId(reply, 'append');
}

/** Runs `use` with the current pair held (its identities stay until it returns). */
async function withPair(c: OperationContext, use: (pair: Pair) => Promise<void>): Promise<void> {
  const pair = c.world.pair;
  pair.inflight++;
  try {
    await use(pair);
  } finally {
    pair.inflight--;
  }
}

const message = (c: OperationContext, pair: Pair): Array<{ name: string; contentType: string; body: string }> => [
  { name: 'message', contentType: TEXT_UTF8, body: `soak ${pair.sent} from worker ${c.worker.id}: ${'x'.repeat(randomInt(200))}` },
];

export const OPERATIONS: readonly Operation[] = [
  {
    name: 'identities.json',
    weight: 10,
    run: async (c) => void expectJson<Table>(await c.client.get('/restful/keyring/identities.json'), 'identities.json'),
  },
  {
    name: 'bundlelist.json',
    weight: 5,
    run: async (c) => void expectJson<Table>(await c.client.get(`/restful/rhizome/bundlelist.json${randomInt(2) ? '?service=file' : ''}`), 'bundlelist.json'),
  },
  { name: 'insert small', weight: 10, run: (c) => insert(c, pick(c.worker.bundles.filter((b) => !b.large))!) },
  { name: 'insert 96-160 KiB', weight: 2, run: (c) => insert(c, c.worker.bundles.find((b) => b.large)!) },
  {
    name: 'raw.bin',
    weight: 6,
    run: (c) =>
      readStored(c, async (bundle) => {
        const reply = await c.client.get(`/restful/rhizome/${bundle.bid}/raw.bin`);
        expectStatus(reply, 200, 'raw.bin');
        if (!reply.body.equals(bundle.payload)) throw new Error('raw.bin: other bytes than inserted');
      }),
  },
  { name: 'raw.bin Range', weight: 6, run: (c) => readStored(c, (bundle) => readRange(c, bundle)) },
  {
    name: 'manifest .rhm',
    weight: 3,
    run: (c) =>
      readStored(c, async (bundle) => {
        const reply = await c.client.get(`/restful/rhizome/${bundle.bid}.rhm`);
        expectStatus(reply, 200, '.rhm');
        if (!reply.body.includes(`version=${bundle.version}\n`)) throw new Error('.rhm: not the version last inserted');
      }),
  },
  { name: 'journal append', weight: 5, run: append },
  {
    name: 'meshms send',
    weight: 5,
    run: (c) =>
      withPair(c, async (pair) => {
        const [from, to] = randomInt(2) ? [pair.a, pair.b] : [pair.b, pair.a];
        expectStatus(await c.client.postForm(`/restful/meshms/${from.sid}/${to.sid}/sendmessage`, message(c, pair)), 201, 'meshms sendmessage');
        pair.sent++;
      }).then(() => c.world.rotateIfFull(c.client)),
  },
  {
    name: 'meshms messagelist',
    weight: 4,
    run: (c) => withPair(c, async (pair) => void expectJson<Table>(await c.client.get(`/restful/meshms/${pair.a.sid}/${pair.b.sid}/messagelist.json`), 'meshms messagelist')),
  },
  {
    name: 'meshms conversationlist',
    weight: 2,
    run: (c) => withPair(c, async (pair) => void expectJson<Table>(await c.client.get(`/restful/meshms/${pair.b.sid}/conversationlist.json`), 'meshms conversationlist')),
  },
  {
    name: 'meshmb send',
    weight: 3,
    run: (c) =>
      withPair(c, async (pair) => {
        expectStatus(await c.client.postForm(`/restful/meshmb/${pair.a.identity}/sendmessage`, message(c, pair)), 201, 'meshmb sendmessage');
        pair.sent++;
      }).then(() => c.world.rotateIfFull(c.client)),
  },
  {
    name: 'meshmb messagelist',
    weight: 2,
    run: (c) => withPair(c, async (pair) => void expectJson<Table>(await c.client.get(`/restful/meshmb/${pair.a.identity}/messagelist.json`), 'meshmb messagelist')),
  },
];

/** An operation drawn with the weights' odds. */
export function drawOperation(): Operation {
  const total = OPERATIONS.reduce((n, op) => n + op.weight, 0);
  let at = randomInt(total);
  for (const op of OPERATIONS) {
    if (at < op.weight) return op;
    at -= op.weight;
  }
  return OPERATIONS[0]!;
}
