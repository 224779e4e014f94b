/**
 * The Rhizome benchmarks' client side: multipart insert bodies, and single requests over
 * keep-alive connections timed from the first byte sent to the last byte received.
 */
import { Agent, request } from 'node:http';
import { encodeMultipart } from '../src/http/multipart.js';
import { HARRY } from './harness.js';

export const MANIFEST_TYPE = 'rhizome/manifest; format=text+binarysig';
export const BOUNDARY = 'BenchBoundary7e3f9a2c41d8';
export const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
export const MB = 1e6;

export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** The parts of an insert before the payload bytes, and what follows them. */
export function insertFrame(name: string): { head: Buffer; tail: Buffer } {
  const marker = Buffer.from('\0PAYLOAD\0');
  const whole = encodeMultipart(
    [
      { name: 'manifest', contentType: MANIFEST_TYPE, body: `service=file\nname=${name}\n` },
      { name: 'payload', body: marker },
    ],
    BOUNDARY,
  );
  const at = whole.indexOf(marker);
  return { head: whole.subarray(0, at), tail: whole.subarray(at + marker.length) };
}

/** A whole small insert body. */
export function smallInsertBody(name: string, payload: Buffer | string): Buffer {
  const { head, tail } = insertFrame(name);
  return Buffer.concat([head, Buffer.from(payload), tail]);
}

export interface Timed {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bytes: number;
  /** Milliseconds from the request to its response's first and last byte. */
  readonly firstMs: number;
  readonly lastMs: number;
  readonly body?: Buffer;
}

/**
 * One request: `body` pieces are written in order (a large payload goes to the socket as is,
 * without a copy). The response is counted, and kept only when `keep` is set.
 */
export function timed(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: readonly Buffer[]; keep?: boolean } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string | number> = { Authorization: HARRY.Authorization, ...options.headers };
    if (options.body) headers['Content-Length'] = options.body.reduce((n, b) => n + b.length, 0);
    const req = request(url, { method: options.method ?? 'GET', agent, headers }, (res) => {
      let firstMs = -1;
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (firstMs < 0) firstMs = performance.now() - started;
        bytes += c.length;
        if (options.keep) chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const lastMs = performance.now() - started;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          firstMs: firstMs < 0 ? lastMs : firstMs,
          lastMs,
          body: options.keep ? Buffer.concat(chunks) : undefined,
        });
      });
    });
    req.on('error', reject);
    for (const piece of options.body ?? []) req.write(piece);
    req.end();
  });
}

/** A bundle as another server imports it: its signed manifest and its payload. */
export interface SignedBundle {
  readonly manifest: Buffer;
  readonly payload: Buffer;
}

/**
 * Inserts `count` small bundles, `concurrency` at a time; returns how many were refused, and with
 * `keep` the signed bundles (the 201's body is the signed manifest), in the order of their names.
 */
export async function insertMany(
  port: number,
  count: number,
  concurrency: number,
  options: { payloadBytes?: number; from?: number; keep?: boolean } = {},
): Promise<{ refused: number; bundles: SignedBundle[] }> {
  const { payloadBytes = 1024, from = 0 } = options;
  const url = `http://127.0.0.1:${port}/restful/rhizome/insert`;
  let next = from;
  let refused = 0;
  const bundles: SignedBundle[] = [];
  const filler = 'x'.repeat(payloadBytes);
  const worker = async (): Promise<void> => {
    while (next < from + count) {
      const i = next++;
      const payload = Buffer.from(`${i}:${filler}`.slice(0, payloadBytes));
      const r = await timed(url, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [smallInsertBody(`bundle-${i}.txt`, payload)], keep: options.keep });
      if (r.status !== 201) refused++;
      else if (options.keep) bundles[i - from] = { manifest: r.body!, payload };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { refused, bundles };
}

/** Imports signed bundles into the server at `origin`, `concurrency` at a time; returns how many were refused. */
export async function importMany(origin: string, bundles: readonly SignedBundle[], concurrency: number): Promise<number> {
  let next = 0;
  let refused = 0;
  const worker = async (): Promise<void> => {
    while (next < bundles.length) {
      const b = bundles[next++]!;
      const body = encodeMultipart([{ name: 'manifest', contentType: MANIFEST_TYPE, body: b.manifest }, { name: 'payload', body: b.payload }], BOUNDARY);
      const r = await timed(`${origin}/restful/rhizome/import`, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [body] });
      // 200: already there (a reference kept from an earlier run).
      if (r.status !== 201 && r.status !== 200) refused++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return refused;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
