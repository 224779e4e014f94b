/**
 * Test support for MeshMB: identities made over the keyring API, messages sent and lists read over
 * the MeshMB API as a client would, and long-polls read as they stream.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { PartSpec } from '../../src/http/multipart.js';
import { HARRY, type Reply, type TestNode } from './node.js';
import { postForm } from './rhizome.js';

export const TEXT_UTF8 = 'text/plain; charset=utf-8';
export const MESHMB = '/restful/meshmb';

export interface TestIdentity {
  readonly sid: string;
  readonly identity: string;
  readonly name?: string;
}

export async function addIdentity(t: TestNode, name?: string): Promise<TestIdentity> {
  const query = name === undefined ? '' : `?name=${encodeURIComponent(name)}`;
  const r = await t.request('POST', `/restful/keyring/add${query}`);
  assert.equal(r.status, 201, r.text);
  const id = r.json<{ identity: TestIdentity }>().identity;
  return { sid: id.sid, identity: id.identity, name };
}

export function sendParts(t: TestNode, id: string, parts: readonly PartSpec[]): Promise<Reply> {
  return postForm(t, `${MESHMB}/${id}/sendmessage`, parts);
}

/** POST ID/sendmessage with one `message` part; expects 201 unless `status` says otherwise. */
export async function send(t: TestNode, id: string, message: string | Buffer, status = 201): Promise<Reply> {
  const r = await sendParts(t, id, [{ name: 'message', contentType: TEXT_UTF8, body: message }]);
  assert.equal(r.status, status, r.text);
  return r;
}

export async function post(t: TestNode, path: string, status = 201): Promise<Reply> {
  const r = await t.request('POST', `${MESHMB}/${path}`, { headers: { 'Content-Length': 0 } });
  assert.equal(r.status, status, `${path}: ${r.text}`);
  return r;
}

export interface Table {
  readonly header: string[];
  readonly rows: unknown[][];
  readonly [member: string]: unknown;
}

/** GET a JSON table; 200 expected. */
export async function getTable(t: TestNode, path: string): Promise<Table> {
  const r = await t.request('GET', `${MESHMB}/${path}`);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json<Table>();
}

/** A table's rows as objects keyed by the header. */
export function objects(table: Table): Array<Record<string, unknown>> {
  return table.rows.map((row) => Object.fromEntries(table.header.map((h, i) => [h, row[i]])));
}

export interface Stream {
  /** Resolves once the response head and the table head have arrived. */
  readonly opened: Promise<void>;
  /** Everything the server sent, once it ends the response. */
  readonly done: Promise<{ status: number; text: string; chunks: Array<{ at: number; text: string }> }>;
}

/** Opens a long-poll and records its chunks as they arrive. */
export function openStream(t: TestNode, path: string): Stream {
  let opened!: () => void;
  const openedPromise = new Promise<void>((resolve) => (opened = resolve));
  const done = new Promise<{ status: number; text: string; chunks: Array<{ at: number; text: string }> }>((resolve, reject) => {
    const start = Date.now();
    const req = httpRequest(
      { host: '127.0.0.1', port: t.port, method: 'GET', path: `${MESHMB}/${path}`, headers: { Authorization: HARRY }, agent: false },
      (res) => {
        const chunks: Array<{ at: number; text: string }> = [];
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          chunks.push({ at: Date.now() - start, text });
          if (chunks.map((c) => c.text).join('').includes('"rows":[')) opened();
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: chunks.map((c) => c.text).join(''), chunks }));
      },
    );
    req.on('error', reject);
    req.end();
  });
  return { opened: openedPromise, done };
}

/** Waits until `check` holds, polling every 20 ms for up to `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
