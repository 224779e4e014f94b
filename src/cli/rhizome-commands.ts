/**
 * `tendril rhizome add | list | export | import`: Rhizome bundles from the command line, through
 * the node's REST API on the control socket (spec §3.3, §3.5, §3.6, §3.8, §3.10).
 *
 * Payloads stream both ways in constant memory: `add` and `import` send the file as the `payload`
 * part of a multipart body whose Content-Length comes from the file size, and `export` writes
 * raw.bin to its file as it arrives. That needs the response as a stream and an upload that can
 * stop early, which NodeClient (buffered) does not offer, so this file speaks HTTP to the control
 * socket itself for those requests (see `exchange`).
 *
 * --secret is visible to other local users in the process list, as the reference's is.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { isHex } from '../formats/hex.js';
import {
  CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX,
  CONTENT_TYPE_RHIZOME_MANIFEST,
  CONTENT_TYPE_SID_HEX,
  formatContentType,
  quoteString,
} from '../http/content-type.js';
import type { InstancePaths } from '../node/instance.js';
import { withNode } from './client.js';
import type { Io } from './io.js';

const MANIFEST_TYPE = formatContentType(CONTENT_TYPE_RHIZOME_MANIFEST);
/** Transfers at least this large show a progress bar (on a terminal only). */
const PROGRESS_MIN_BYTES = 1024 * 1024;
/** How long an upload waits for `100 Continue` before sending anyway (as curl does). */
const CONTINUE_WAIT_MS = 1000;
const CRLF = Buffer.from('\r\n');

// ---------------------------------------------------------------------------------------------
// A multipart body that streams its file parts

type PartBody = Buffer | { readonly path: string; readonly size: number };

interface StreamPart {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly body: PartBody;
}

interface Upload {
  readonly length: number;
  readonly stream: Readable;
}

/** A Content-Disposition filename the node accepts (§1.7: ≤ 127 bytes, no control characters). */
function framableFilename(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return name !== '' && Buffer.byteLength(name, 'utf8') <= 127 && !/[\x00-\x1f\x7f]/.test(name) ? name : undefined;
}

/**
 * The body of encodeMultipart (src/http/multipart.ts), with file parts read as it is sent. The
 * boundary carries 128 random bits, so a file cannot contain the delimiter except by a chance not
 * worth scanning gigabytes for. A file that changes size while it is sent fails the stream.
 */
function multipartUpload(parts: readonly StreamPart[], boundary: string, onBytes: (n: number) => void): Upload {
  const heads = parts.map((part) => {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name=${quoteString(part.name)}`;
    if (part.filename !== undefined) head += `; filename=${quoteString(part.filename)}`;
    if (part.contentType !== undefined) head += `\r\nContent-Type: ${part.contentType}`;
    return Buffer.from(`${head}\r\n\r\n`, 'utf8');
  });
  const tail = Buffer.from(`--${boundary}--\r\n`, 'latin1');
  const sizeOf = (body: PartBody): number => (Buffer.isBuffer(body) ? body.length : body.size);
  const length = parts.reduce((n, part, i) => n + heads[i]!.length + sizeOf(part.body) + CRLF.length, tail.length);

  async function* bytes(): AsyncGenerator<Buffer> {
    for (const [i, part] of parts.entries()) {
      yield heads[i]!;
      const body = part.body;
      if (Buffer.isBuffer(body)) {
        yield body;
      } else if (body.size > 0) {
        let sent = 0;
        for await (const chunk of createReadStream(body.path, { start: 0, end: body.size - 1, highWaterMark: 256 * 1024 })) {
          sent += (chunk as Buffer).length;
          onBytes((chunk as Buffer).length);
          yield chunk as Buffer;
        }
        if (sent !== body.size) throw new Error(`${body.path} changed size while being sent`);
      }
      yield CRLF;
    }
    yield tail;
  }
  return { length, stream: Readable.from(bytes(), { objectMode: false }) };
}

// ---------------------------------------------------------------------------------------------
// HTTP over the control socket, with streamed bodies in both directions

interface Exchange {
  readonly status: number;
  readonly reason: string;
  readonly headers: IncomingHttpHeaders;
  readonly res: IncomingMessage;
}

/**
 * Sends a request and resolves with the response as soon as its head arrives. An upload waits for
 * `100 Continue`, so an answer the node gives before reading the body (an import it already has)
 * costs no upload, and stops as soon as any answer arrives (the node answers some errors before
 * reading the payload, spec §3.8.1). The connection is not reused: it ends with the response.
 */
function exchange(socketPath: string, method: string, path: string, upload?: Upload, headers: Record<string, string> = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    // Keep-alive, although the connection is closed once answered: told `close`, the node would
    // close as soon as it answers early, and the rest of the upload would fail with EPIPE before
    // the answer is read. Told `keep-alive`, it reads and discards the rest (src/http/pipeline.ts).
    const all: Record<string, string | number> = { ...headers, Connection: 'keep-alive' };
    if (upload) Object.assign(all, { 'Content-Length': upload.length, Expect: '100-continue' });
    const req = httpRequest({ socketPath, method, path, headers: all, agent: false });
    let answered = false;
    let sending = false;
    const send = (): void => {
      if (sending || answered || !upload) return;
      sending = true;
      clearTimeout(timer);
      upload.stream.once('error', (err) => req.destroy(err));
      upload.stream.pipe(req);
    };
    const timer = upload ? setTimeout(send, CONTINUE_WAIT_MS) : undefined;
    req.on('continue', send);
    req.on('response', (res) => {
      answered = true;
      clearTimeout(timer);
      if (upload && !upload.stream.readableEnded) {
        upload.stream.unpipe(req);
        upload.stream.destroy();
      }
      res.once('end', () => req.destroy());
      resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, res });
    });
    // Once answered, a failed upload (the node stopped reading) no longer matters.
    req.on('error', (err) => {
      clearTimeout(timer);
      if (!answered) reject(err);
    });
    if (upload) req.flushHeaders();
    else req.end();
  });
}

async function readBody(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Fails with the node's reason, plus the Rhizome status message when it says more. */
function nodeRefused(status: number, reason: string, body: Buffer): never {
  let detail: string | undefined;
  try {
    const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const bundle = json.rhizome_bundle_status_code;
    const payload = json.rhizome_payload_status_code;
    // Bundle statuses from 4 and payload statuses from 3 are the failures (spec §3.1).
    if (typeof bundle === 'number' && bundle >= 4) detail = String(json.rhizome_bundle_status_message);
    else if (typeof payload === 'number' && payload >= 3) detail = String(json.rhizome_payload_status_message);
  } catch {
    // not a JSON result: the reason is all there is
  }
  const suffix = detail !== undefined && detail !== reason ? `: ${detail}` : '';
  fail('USAGE', { arg: `${reason} (HTTP ${status})${suffix}` });
}

// ---------------------------------------------------------------------------------------------
// Output

interface Progress {
  tick(bytes: number): void;
  stop(): void;
}

const MiB = 1024 * 1024;

/** A progress bar on stderr for a large transfer to or from a terminal user; otherwise nothing. */
function progress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total < PROGRESS_MIN_BYTES) return { tick: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {value}/{total} MiB, {eta_formatted} left`,
      stream: process.stderr,
      formatValue: (v, _options, type) => (type === 'value' || type === 'total' ? (v / MiB).toFixed(1) : String(v)),
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  let done = 0;
  return {
    tick(bytes) {
      done += bytes;
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}

/** The fields of a signed manifest as `label:value` lines, in manifest order. */
function manifestLines(signed: Buffer): string[] {
  const end = signed.indexOf(0);
  const text = signed.subarray(0, end < 0 ? signed.length : end).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => `${line.slice(0, line.indexOf('='))}:${line.slice(line.indexOf('=') + 1)}`);
}

/** What the node knows beyond the manifest (spec §3.2), named as list columns name them. */
function bundleExtraLines(headers: IncomingHttpHeaders): string[] {
  const lines: string[] = [];
  for (const [name, label] of [
    ['author', '.author'],
    ['secret', '.secret'],
    ['rowid', '.rowid'],
    ['inserttime', '.inserttime'],
  ] as const) {
    const value = headers[`serval-rhizome-bundle-${name}`];
    if (typeof value === 'string') lines.push(`${label}:${value}`);
  }
  return lines;
}

const cell = (c: unknown): string => (typeof c === 'string' || typeof c === 'number' ? String(c) : '');
const boundary = (): string => `tendril-${randomBytes(16).toString('hex')}`;

function fileSize(path: string): number {
  const stat = statSync(path);
  if (!stat.isFile()) fail('USAGE', { arg: `${path} is not a regular file` });
  return stat.size;
}

function checkBid(bid: string): string {
  if (!isHex(bid, 32)) fail('USAGE', { arg: `invalid bundle id: ${bid} (expected 64 hex digits)` });
  return bid.toUpperCase();
}

/** `id=` and `version=` of a manifest's text, for import's "already have it" check (spec §3.10). */
function idAndVersion(manifest: Buffer): string {
  const end = manifest.indexOf(0);
  const text = manifest.subarray(0, end < 0 ? manifest.length : end).toString('utf8');
  const id = /^id=([0-9A-Fa-f]{64})$/m.exec(text)?.[1];
  const version = /^version=(\d{1,20})$/m.exec(text)?.[1];
  return id !== undefined && version !== undefined ? `?id=${id}&version=${version}` : '';
}

// ---------------------------------------------------------------------------------------------
// The commands

interface AddOptions {
  service?: string;
  name?: string;
  author?: string;
  secret?: string;
}

export function registerRhizomeCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const rhizome = program.command('rhizome').description('add, list, export and import Rhizome bundles');

  rhizome
    .command('add <file>')
    .description('store FILE as the payload of a new bundle, or of a new version of one (--secret)')
    .option('--service <service>', 'bundle service (default: file)')
    .option('--name <name>', 'bundle name (default for service file: the file name)')
    .option('--author <sid>', 'author: an unlocked identity, which can then update the bundle')
    .option('--secret <secret>', 'bundle secret: 64 hex digits, or #passphrase')
    .action(async (file: string, opts: AddOptions) => {
      const size = fileSize(file);
      let partial = '';
      for (const [label, value] of [['service', opts.service], ['name', opts.name]] as const) {
        if (value === undefined) continue;
        // A line break would smuggle another field into the manifest (§7.3.1).
        if (/[\r\n\0]/.test(value)) fail('USAGE', { arg: `--${label} cannot contain a line break or NUL` });
        partial += `${label}=${value}\n`;
      }
      const parts: StreamPart[] = [];
      if (opts.author !== undefined) parts.push({ name: 'bundle-author', contentType: formatContentType(CONTENT_TYPE_SID_HEX), body: Buffer.from(opts.author, 'utf8') });
      if (opts.secret !== undefined) {
        parts.push({ name: 'bundle-secret', contentType: formatContentType(CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX), body: Buffer.from(opts.secret, 'utf8') });
      }
      parts.push({ name: 'manifest', contentType: MANIFEST_TYPE, body: Buffer.from(partial, 'utf8') });
      parts.push({ name: 'payload', filename: framableFilename(basename(file)), body: { path: file, size } });

      const p = paths();
      await withNode(p, async () => {
        const { reply, body } = await upload(p.controlSocket, '/restful/rhizome/insert', parts, progress('uploading', size));
        // Success is the signed manifest (spec §3.8.3 step 8); any JSON result is a refusal.
        const ok = reply.status < 300 && reply.headers['content-type'] === MANIFEST_TYPE;
        if (!ok) nodeRefused(reply.status, reply.reason, body);
        for (const line of [...manifestLines(body), ...bundleExtraLines(reply.headers)]) io.out(line);
        // 200 "already in store" / "duplicate", 202 "newer version in store": said, not failed.
        if (reply.status !== 201) io.err(reply.reason);
      });
    });

  rhizome
    .command('list')
    .description('list bundles, newest first (_id:service:id:version:date:.inserttime:.author:.fromhere:filesize:filehash:sender:recipient:name)')
    .option('--service <service>', 'only bundles of this service')
    .option('--name <name>', 'only bundles whose name matches (SQL LIKE: % and _ are wildcards)')
    .action(async (opts: { service?: string; name?: string }) => {
      await withNode(paths(), async (node) => {
        const reply = await node.request('GET', '/restful/rhizome/bundlelist.json', {
          query: [
            ['service', opts.service],
            ['name', opts.name],
          ],
        });
        if (reply.status !== 200) nodeRefused(reply.status, reply.reason, reply.body);
        // As the reference's `rhizome list`: every column but the newsince token.
        const table = JSON.parse(reply.body.toString('utf8')) as { header: string[]; rows: unknown[][] };
        const keep = table.header.map((_, i) => i).filter((i) => table.header[i] !== '.token');
        io.out(keep.map((i) => table.header[i]).join(':'));
        for (const row of table.rows) io.out(keep.map((i) => cell(row[i])).join(':'));
      });
    });

  rhizome
    .command('export <bid>')
    .description('print a bundle\'s manifest fields; write its signed manifest and its payload (raw) to files')
    .option('--manifest <file>', 'write the signed manifest (.rhm) here')
    .option('--payload <file>', 'write the payload as stored (raw.bin: still encrypted if crypt=1) here')
    .action(async (bidText: string, opts: { manifest?: string; payload?: string }) => {
      const bid = checkBid(bidText);
      const p = paths();
      await withNode(p, async (node) => {
        const found = await node.request('GET', `/restful/rhizome/${bid}.rhm`);
        if (found.status !== 200) nodeRefused(found.status, found.reason, found.body);
        const version = found.headers['serval-rhizome-bundle-version'];
        if (opts.payload !== undefined) await exportPayload(p.controlSocket, bid, version, opts.payload);
        if (opts.manifest !== undefined) writeManifest(opts.manifest, found.body);
        for (const line of [...manifestLines(found.body), ...bundleExtraLines(found.headers)]) io.out(line);
      });
    });

  rhizome
    .command('import <manifest> [payload]')
    .description('store a bundle signed elsewhere: its signed manifest (.rhm) and its payload as stored')
    .action(async (manifestFile: string, payloadFile: string | undefined) => {
      const manifest = readFileSync(manifestFile);
      const size = payloadFile === undefined ? 0 : fileSize(payloadFile);
      const parts: StreamPart[] = [{ name: 'manifest', contentType: MANIFEST_TYPE, body: manifest }];
      if (payloadFile !== undefined) parts.push({ name: 'payload', body: { path: payloadFile, size } });
      const p = paths();
      await withNode(p, async () => {
        const path = `/restful/rhizome/import${idAndVersion(manifest)}`;
        const { reply, body } = await upload(p.controlSocket, path, parts, progress('importing', size));
        if (reply.status >= 300) nodeRefused(reply.status, reply.reason, body);
        const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        for (const [key, value] of Object.entries(json)) io.out(`${key}:${cell(value)}`);
        for (const [name, label] of [['id', 'id'], ['version', 'version']] as const) {
          const value = reply.headers[`serval-rhizome-bundle-${name}`];
          if (typeof value === 'string') io.out(`${label}:${value}`);
        }
      });
    });
}

/** POSTs `parts` as a streamed multipart body, ticking `bar` as bytes go out; the whole answer. */
async function upload(socketPath: string, path: string, parts: StreamPart[], bar: Progress): Promise<{ reply: Exchange; body: Buffer }> {
  try {
    const b = boundary();
    const body = multipartUpload(parts, b, (n) => bar.tick(n));
    const reply = await exchange(socketPath, 'POST', path, body, { 'Content-Type': `multipart/form-data; boundary=${b}` });
    return { reply, body: await readBody(reply.res) };
  } finally {
    bar.stop();
  }
}

function writeManifest(file: string, signed: Buffer): void {
  writeFileSync(file, signed);
}

/** Removes what a failed export wrote, if it is a file (never a device such as /dev/null). */
function removePartial(file: string): void {
  try {
    if (statSync(file).isFile()) rmSync(file, { force: true });
  } catch {
    // nothing was created
  }
}

/**
 * Streams raw.bin into `file`. The node cuts the connection if the stored bytes fail their hash
 * (spec §3.6), and a newer version may replace the bundle between the manifest and the payload:
 * either way the file is removed and the export fails, rather than leaving bytes that do not
 * belong to the manifest.
 */
async function exportPayload(socketPath: string, bid: string, version: string | string[] | undefined, file: string): Promise<void> {
  const reply = await exchange(socketPath, 'GET', `/restful/rhizome/${bid}/raw.bin`);
  if (reply.status !== 200) nodeRefused(reply.status, reply.reason, await readBody(reply.res));
  if (reply.headers['serval-rhizome-bundle-version'] !== version) {
    reply.res.destroy();
    fail('USAGE', { arg: 'the bundle changed during the export; try again' });
  }
  const length = Number(reply.headers['content-length'] ?? 0);
  const bar = progress('exporting', length);
  let received = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      bar.tick(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(reply.res, count, createWriteStream(file));
    if (received !== length) throw new Error('short');
  } catch {
    removePartial(file);
    fail('USAGE', { arg: `payload transfer cut short after ${received} of ${length} bytes` });
  } finally {
    bar.stop();
  }
}
