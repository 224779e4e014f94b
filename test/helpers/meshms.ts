/**
 * Test support for MeshMS: identities, sends and lists over HTTP as a client makes them, and a
 * newsince client that reads the stream as it arrives.
 */
import { request as httpRequest } from 'node:http';
import { encodeMultipart, type PartSpec } from '../../src/http/multipart.js';
import { HARRY, type Reply, type TestNode } from './node.js';

const BOUNDARY = 'MeShMsBoUnDaRy';
export const TEXT_UTF8 = 'text/plain; charset=utf-8';

export const MESSAGE_COLUMNS = ['type', 'my_sid', 'their_sid', 'my_offset', 'their_offset', 'token', 'text', 'delivered', 'read', 'timestamp', 'ack_offset'];

export type MessageRowJson = [string, string, string, number, number, string, string | null, boolean, boolean, number | null, number | null];

export interface MessageList {
  read_offset: number;
  latest_ack_offset: number;
  header: string[];
  rows: MessageRowJson[];
}

export interface Message {
  type: string;
  my_sid: string;
  their_sid: string;
  my_offset: number;
  their_offset: number;
  token: string;
  text: string | null;
  delivered: boolean;
  read: boolean;
  timestamp: number | null;
  ack_offset: number | null;
}

export function asMessage(row: MessageRowJson): Message {
  const [type, my_sid, their_sid, my_offset, their_offset, token, text, delivered, read, timestamp, ack_offset] = row;
  return { type, my_sid, their_sid, my_offset, their_offset, token, text, delivered, read, timestamp, ack_offset };
}

export async function addIdentity(t: TestNode, name?: string): Promise<string> {
  const r = await t.request('POST', `/restful/keyring/add${name ? `?name=${encodeURIComponent(name)}` : ''}`);
  if (r.status !== 201) throw new Error(`keyring add: ${r.status} ${r.text}`);
  return r.json<{ identity: { sid: string } }>().identity.sid;
}

export function postParts(t: TestNode, path: string, parts: readonly PartSpec[]): Promise<Reply> {
  const body = encodeMultipart(parts, BOUNDARY);
  return t.request('POST', path, {
    headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': body.length },
    body,
  });
}

export function send(t: TestNode, my: string, their: string, text: string | Buffer): Promise<Reply> {
  return postParts(t, `/restful/meshms/${my}/${their}/sendmessage`, [{ name: 'message', contentType: TEXT_UTF8, body: text }]);
}

export async function sendOk(t: TestNode, my: string, their: string, text: string | Buffer): Promise<void> {
  const r = await send(t, my, their, text);
  if (r.status !== 201) throw new Error(`sendmessage: ${r.status} ${r.text}`);
}

export async function messageList(t: TestNode, my: string, their: string): Promise<MessageList> {
  const r = await t.request('GET', `/restful/meshms/${my}/${their}/messagelist.json`);
  if (r.status !== 200) throw new Error(`messagelist: ${r.status} ${r.text}`);
  return r.json<MessageList>();
}

export interface ConversationRow {
  _id: number;
  my_sid: string;
  their_sid: string;
  read: boolean;
  last_message: number;
  read_offset: number;
}

export async function conversationList(t: TestNode, my: string): Promise<ConversationRow[]> {
  const r = await t.request('GET', `/restful/meshms/${my}/conversationlist.json`);
  if (r.status !== 200) throw new Error(`conversationlist: ${r.status} ${r.text}`);
  const body = r.json<{ header: string[]; rows: unknown[][] }>();
  return body.rows.map((row) => Object.fromEntries(body.header.map((h, i) => [h, row[i]])) as unknown as ConversationRow);
}

/** Parses the rows of a (possibly unterminated) JSON table body, as the reference's tests do. */
export function parsePartialTable(text: string): { header: string[]; rows: MessageRowJson[] } {
  let body = text.trimEnd();
  if (!body.endsWith('}')) body += ']}';
  return JSON.parse(body) as { header: string[]; rows: MessageRowJson[] };
}

/** A newsince request read as it streams: the body so far, and when it ended. */
export interface Stream {
  readonly status: Promise<number>;
  text(): string;
  rows(): MessageRowJson[];
  /** Resolves once `predicate(rows)` holds (polling the buffered body), or rejects after `ms`. */
  until(predicate: (rows: MessageRowJson[]) => boolean, ms?: number): Promise<MessageRowJson[]>;
  readonly done: Promise<string>;
  close(): void;
}

export function openStream(t: TestNode, path: string): Stream {
  let body = '';
  let resolveStatus!: (s: number) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  let req!: ReturnType<typeof httpRequest>;
  const done = new Promise<string>((resolve, reject) => {
    req = httpRequest({ host: '127.0.0.1', port: t.port, method: 'GET', path, headers: { Authorization: HARRY }, agent: false }, (res) => {
      resolveStatus(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
      res.on('aborted', () => resolve(body));
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(body) : reject(err)));
    req.end();
  });
  const rows = (): MessageRowJson[] => (body.includes('"rows":[') ? parsePartialTable(body).rows : []);
  return {
    status,
    text: () => body,
    rows,
    async until(predicate, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = rows();
        if (predicate(r)) return r;
        if (Date.now() > deadline) throw new Error(`stream did not show the expected rows in time: ${body}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    done,
    close: () => req.destroy(),
  };
}
