/**
 * MeshMS over REST against a real node process: messages sent per second with N concurrent
 * senders, each on its own conversation and all on one conversation, and the time to the last
 * byte of messagelist.json for a 10,000-message conversation.
 *
 * Every send appends to a Rhizome journal (which rewrites the whole ply) and rewrites the
 * sender's conversation index, so the rate falls as plys grow; the figures are for conversations
 * that start empty and grow for the measured seconds. The 10,000-message conversation is built
 * as two plys of interleaved MESSAGE/ACK/TIME records, each stored with one REST append.
 */
import { Agent, request } from 'node:http';
import { encodeMultipart } from '../src/http/multipart.js';
import { encodeAck, encodeMessage, encodeTime } from '../src/formats/ply.js';
import { fmt, HARRY, makeInstance, removeInstance, startTendril } from './harness.js';

export interface SendRate {
  readonly senders: number;
  readonly conversations: number;
  readonly messages: number;
  readonly messagesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

export interface ListTiming {
  readonly messages: number;
  readonly bytes: number;
  /** The first request, which also reads both plys from the store. */
  readonly firstMs: number;
  readonly medianMs: number;
}

export interface MeshmsBench {
  readonly distinct: SendRate;
  readonly shared: SendRate;
  readonly list: ListTiming;
}

const SENDERS = 8;
const LIST_MESSAGES = 10_000;
const BOUNDARY = 'benchBoundary';

interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

function call(port: number, agent: Agent, method: string, path: string, body?: Buffer, headers: Record<string, string | number> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { ...HARRY, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function form(parts: Parameters<typeof encodeMultipart>[0]): { body: Buffer; headers: Record<string, string | number> } {
  const body = encodeMultipart(parts, BOUNDARY);
  return { body, headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': body.length } };
}

async function newIdentity(port: number, agent: Agent): Promise<string> {
  const r = await call(port, agent, 'POST', '/restful/keyring/add');
  if (r.status !== 201) throw new Error(`keyring add: ${r.status}`);
  return (JSON.parse(r.body.toString('utf8')) as { identity: { sid: string } }).identity.sid;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** `SENDERS` loops sending for `seconds`; sender i writes to conversation i % conversations. */
async function measureSends(port: number, seconds: number, conversations: number): Promise<SendRate> {
  const agent = new Agent({ keepAlive: true, maxSockets: SENDERS });
  try {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < conversations; i++) pairs.push([await newIdentity(port, agent), await newIdentity(port, agent)]);
    const latencies: number[] = [];
    let errors = 0;
    const until = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, i) => {
        const [my, their] = pairs[i % conversations]!;
        const path = `/restful/meshms/${my}/${their}/sendmessage`;
        for (let n = 0; performance.now() < until; n++) {
          const { body, headers } = form([{ name: 'message', contentType: 'text/plain; charset=utf-8', body: `sender ${i} message ${n}: a line of ordinary length` }]);
          const t0 = performance.now();
          const r = await call(port, agent, 'POST', path, body, headers);
          latencies.push(performance.now() - t0);
          if (r.status !== 201) errors++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      senders: SENDERS,
      conversations,
      messages: latencies.length - errors,
      messagesPerSecond: (latencies.length - errors) / elapsed,
      p50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
      p99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
      errors,
    };
  } finally {
    agent.destroy();
  }
}

/**
 * Both plys of a conversation of `messages` messages, alternating sides, each acknowledging the
 * other's previous message as a send does (spec §7.11.2).
 */
function buildPlys(messages: number): [Buffer, Buffer] {
  const parts: [Buffer[], Buffer[]] = [[], []];
  const sizes = [0, 0];
  const lastMessage = [0, 0];
  const acked = [0, 0];
  const time = Math.floor(Date.now() / 1000) - messages;
  for (let n = 0; n < messages; n++) {
    const me = n % 2;
    const them = 1 - me;
    const records: Buffer[] = [];
    if (acked[me]! < lastMessage[them]!) {
      records.push(encodeAck(lastMessage[them]!, acked[me]));
      acked[me] = lastMessage[them]!;
    }
    const message = encodeMessage(Buffer.from(`message ${n}: some words of an ordinary chat line \u{1F600}`));
    records.push(message);
    lastMessage[me] = sizes[me]! + records.reduce((s, r) => s + r.length, 0);
    records.push(encodeTime(time + n));
    for (const r of records) {
      parts[me]!.push(r);
      sizes[me]! += r.length;
    }
  }
  return [Buffer.concat(parts[0]), Buffer.concat(parts[1])];
}

async function measureList(port: number): Promise<ListTiming> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const a = await newIdentity(port, agent);
    const b = await newIdentity(port, agent);
    const [plyA, plyB] = buildPlys(LIST_MESSAGES);
    for (const [author, their, ply] of [
      [a, b, plyA],
      [b, a, plyB],
    ] as const) {
      const { body, headers } = form([
        { name: 'bundle-author', contentType: 'serval/sid; format=hex', body: author },
        { name: 'manifest', contentType: 'rhizome/manifest; format=text+binarysig', body: `service=MeshMS2\nsender=${author}\nrecipient=${their}\n` },
        { name: 'payload', body: ply },
      ]);
      const r = await call(port, agent, 'POST', '/restful/rhizome/append', body, headers);
      if (r.status !== 201) throw new Error(`ply append: ${r.status} ${r.body.toString()}`);
    }
    const path = `/restful/meshms/${a}/${b}/messagelist.json`;
    const times: number[] = [];
    let bytes = 0;
    let rows = 0;
    for (let i = 0; i < 11; i++) {
      const t0 = performance.now();
      const r = await call(port, agent, 'GET', path);
      times.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`messagelist: ${r.status}`);
      bytes = r.body.length;
      rows = (JSON.parse(r.body.toString('utf8')) as { rows: unknown[] }).rows.length;
    }
    const first = times[0]!;
    const rest = times.slice(1).sort((x, y) => x - y);
    return { messages: rows - 1, bytes, firstMs: Math.round(first), medianMs: Math.round(percentile(rest, 50)) };
  } finally {
    agent.destroy();
  }
}

export async function benchMeshms(seconds: number): Promise<MeshmsBench> {
  // No log line per request: the figures are MeshMS's, not the logger's.
  const instance = await makeInstance({ 'log.level': 'warn' });
  const node = await startTendril(instance);
  try {
    const distinct = await measureSends(node.port, seconds, SENDERS);
    const shared = await measureSends(node.port, seconds, 1);
    const list = await measureList(node.port);
    return { distinct, shared, list };
  } finally {
    await node.stop();
    removeInstance(instance);
  }
}

export function reportMeshms(b: MeshmsBench): string[] {
  const send = (label: string, r: SendRate): string =>
    `| ${label} | ${fmt(r.messagesPerSecond)} | ${r.p50Ms} | ${r.p99Ms} | ${fmt(r.messages)} | ${r.errors} |`;
  return [
    `| sendmessage over REST, ${b.distinct.senders} concurrent senders | messages/s | p50 ms | p99 ms | messages sent | errors |`,
    '|---|---:|---:|---:|---:|---:|',
    send(`each on its own conversation (${b.distinct.conversations})`, b.distinct),
    send('all on one conversation', b.shared),
    '',
    '| messagelist.json | messages | bytes | first request ms | median of 10 ms |',
    '|---|---:|---:|---:|---:|',
    `| one conversation, to the last byte | ${fmt(b.list.messages)} | ${fmt(b.list.bytes)} | ${b.list.firstMs} | ${b.list.medianMs} |`,
  ];
}
