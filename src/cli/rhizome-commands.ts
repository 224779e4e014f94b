/**
 * `tendril rhizome add | list | export | import`: Rhizome bundles from the command line, through
 * the typed client on the control socket (spec §3.3, §3.5, §3.6, §3.8, §3.10).
 *
 * Payloads stream both ways in constant memory: `add` and `import` send the file as the `payload`
 * part of a multipart body whose length comes from the file size, and `export` writes raw.bin to
 * its file as it arrives. Ctrl-C during an upload cancels it: the node stores nothing.
 *
 * The bundle secret comes from --secret (visible in the process list, as the reference's is),
 * --secret-file, --ask-secret or TENDRIL_BUNDLE_SECRET.
 */
import { createWriteStream, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { framableFilename, type BundleHeaders, type StoreResult } from '../client/index.js';
import { fileSource } from '../client/node.js';
import { fail } from '../errors.js';
import { isHex } from '../formats/hex.js';
import type { InstancePaths } from '../node/instance.js';
import type { Io } from './io.js';
import { withNode } from './node-client.js';
import { progress } from './progress.js';
import { promptSecret, readSecretsFile, warnVisible } from './secrets.js';

/** The fields of a signed manifest as `[label, value]`, in manifest order. */
function manifestFields(signed: Uint8Array): Array<[string, string]> {
  const end = signed.indexOf(0);
  const text = Buffer.from(signed.subarray(0, end < 0 ? signed.length : end)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

/** What the node knows beyond the manifest (spec §3.2), named as list columns name them. */
function extraFields(bundle: BundleHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of ['author', 'secret', 'rowid', 'inserttime'] as const) {
    const value = bundle[name];
    if (value !== undefined) out.push([`.${name}`, value]);
  }
  return out;
}

/** Fields as `label:value` lines, or one JSON object. */
function printFields(io: Io, fields: Array<[string, string]>, json: boolean | undefined): void {
  if (json) io.json(Object.fromEntries(fields));
  else for (const [label, value] of fields) io.out(`${label}:${value}`);
}

const cell = (c: unknown): string => (typeof c === 'string' || typeof c === 'number' ? String(c) : '');

function fileSize(path: string): number {
  const stat = statSync(path);
  if (!stat.isFile()) fail('USAGE', { arg: `${path} is not a regular file` });
  return stat.size;
}

function checkBid(bid: string): string {
  if (!isHex(bid, 32)) fail('USAGE', { arg: `invalid bundle id: ${bid} (expected 64 hex digits)` });
  return bid.toUpperCase();
}

interface AddOptions {
  service?: string;
  name?: string;
  author?: string;
  secret?: string;
  secretFile?: string;
  askSecret?: boolean;
  json?: boolean;
}

async function bundleSecret(opts: AddOptions, io: Io): Promise<string | undefined> {
  if (opts.secret !== undefined) {
    warnVisible(io, '--secret', '--secret-file, --ask-secret or TENDRIL_BUNDLE_SECRET');
    return opts.secret;
  }
  if (opts.secretFile !== undefined) return readSecretsFile(opts.secretFile)[0] ?? '';
  if (opts.askSecret) return promptSecret('Bundle secret: ');
  return process.env.TENDRIL_BUNDLE_SECRET;
}

/** The answer to an upload: its fields printed, or the node's refusal. */
function printStored(io: Io, stored: StoreResult, json: boolean | undefined): void {
  if (stored.manifest === undefined) {
    // Bundle statuses from 4 and payload statuses from 3 are the failures (spec §3.1).
    const r = stored.result;
    const detail =
      (r?.rhizome_bundle_status_code ?? 0) >= 4 ? r?.rhizome_bundle_status_message : (r?.rhizome_payload_status_code ?? 0) >= 3 ? r?.rhizome_payload_status_message : undefined;
    fail('USAGE', { arg: `${stored.reason} (HTTP ${stored.status})${detail !== undefined && detail !== stored.reason ? `: ${detail}` : ''}` });
  }
  printFields(io, [...manifestFields(stored.manifest), ...extraFields(stored.bundle)], json);
  // 200 "already in store" / "duplicate", 202 "newer version in store": said, not failed.
  if (stored.status !== 201) io.err(stored.reason);
}

export function registerRhizomeCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const rhizome = program.command('rhizome').description('add, list, export and import Rhizome bundles');

  rhizome
    .command('add <file>')
    .description('store FILE as the payload of a new bundle, or of a new version of one (--secret)')
    .option('--service <service>', 'bundle service (default: file)')
    .option('--name <name>', 'bundle name (default for service file: the file name)')
    .option('--author <sid>', 'author: an unlocked identity, which can then update the bundle')
    .option('--secret <secret>', 'bundle secret: 64 hex digits, or #passphrase (visible in the process list)')
    .option('--secret-file <file>', 'read the bundle secret from FILE (- for standard input)')
    .option('--ask-secret', 'ask for the bundle secret on the terminal')
    .option('--json', 'print the manifest fields as JSON')
    .action(async (file: string, opts: AddOptions) => {
      const size = fileSize(file);
      let manifest = '';
      for (const [label, value] of [['service', opts.service], ['name', opts.name]] as const) {
        if (value === undefined) continue;
        // A line break would smuggle another field into the manifest (§7.3.1).
        if (/[\r\n\0]/.test(value)) fail('USAGE', { arg: `--${label} cannot contain a line break or NUL` });
        manifest += `${label}=${value}\n`;
      }
      const secret = await bundleSecret(opts, io);
      await withNode(paths(), io, async (node) => {
        const bar = progress('uploading', size);
        try {
          const stored = await node.rhizome.insert({
            payload: fileSource(file),
            filename: framableFilename(basename(file)),
            manifest,
            author: opts.author,
            secret,
            // The body's total counts the form around the file too.
            onProgress: (sent, total) => bar.update(Math.round((sent / total) * size)),
            signal: io.signal,
          });
          bar.stop();
          printStored(io, stored, opts.json);
        } finally {
          bar.stop();
        }
      });
    });

  rhizome
    .command('list')
    .description('list bundles, newest first (_id:service:id:version:date:.inserttime:.author:.fromhere:filesize:filehash:sender:recipient:name)')
    .option('--service <service>', 'only bundles of this service')
    .option('--name <name>', 'only bundles whose name matches (SQL LIKE: % and _ are wildcards)')
    .option('--json', 'print the bundles as JSON')
    .action(async (opts: { service?: string; name?: string; json?: boolean }) => {
      await withNode(paths(), io, async (node) => {
        const bundles = await node.rhizome.list({ service: opts.service, name: opts.name });
        if (opts.json) return io.json(bundles);
        // As the reference's `rhizome list`: every column but the newsince token.
        const columns = ['_id', 'service', 'id', 'version', 'date', '.inserttime', '.author', '.fromhere', 'filesize', 'filehash', 'sender', 'recipient', 'name'] as const;
        io.out(columns.join(':'));
        for (const b of bundles) io.out(columns.map((c) => cell(b[c])).join(':'));
      });
    });

  rhizome
    .command('export <bid>')
    .description("print a bundle's manifest fields; write its signed manifest and its payload (raw) to files")
    .option('--manifest <file>', 'write the signed manifest (.rhm) here')
    .option('--payload <file>', 'write the payload as stored (raw.bin: still encrypted if crypt=1) here')
    .option('--json', 'print the manifest fields as JSON')
    .action(async (bidText: string, opts: { manifest?: string; payload?: string; json?: boolean }) => {
      const bid = checkBid(bidText);
      await withNode(paths(), io, async (node) => {
        const found = await node.rhizome.manifest(bid);
        if (opts.payload !== undefined) await exportPayload(node.rhizome.payload(bid, { signal: io.signal }), found.bundle.version, opts.payload);
        if (opts.manifest !== undefined) writeFileSync(opts.manifest, found.manifest);
        printFields(io, [...manifestFields(found.manifest), ...extraFields(found.bundle)], opts.json);
      });
    });

  rhizome
    .command('import <manifest> [payload]')
    .description('store a bundle signed elsewhere: its signed manifest (.rhm) and its payload as stored')
    .option('--json', 'print the result as JSON')
    .action(async (manifestFile: string, payloadFile: string | undefined, opts: { json?: boolean }) => {
      const manifest = readFileSync(manifestFile);
      const size = payloadFile === undefined ? 0 : fileSize(payloadFile);
      await withNode(paths(), io, async (node) => {
        const bar = progress('importing', size);
        try {
          const stored = await node.rhizome.import({
            manifest,
            payload: payloadFile === undefined ? undefined : fileSource(payloadFile),
            onProgress: (sent, total) => bar.update(Math.round((sent / total) * size)),
            signal: io.signal,
          });
          bar.stop();
          const fields = Object.entries(stored.result ?? {}).map(([k, v]): [string, string] => [k, cell(v)]);
          if (stored.bundle.id !== undefined) fields.push(['id', stored.bundle.id]);
          if (stored.bundle.version !== undefined) fields.push(['version', stored.bundle.version]);
          printFields(io, fields, opts.json);
        } finally {
          bar.stop();
        }
      });
    });
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
async function exportPayload(answer: Promise<Response>, version: string | undefined, file: string): Promise<void> {
  const response = await answer;
  if (response.headers.get('serval-rhizome-bundle-version') !== version) {
    await response.body?.cancel();
    fail('USAGE', { arg: 'the bundle changed during the export; try again' });
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  const bar = progress('exporting', length);
  let received = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      bar.update(received);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>), count, createWriteStream(file));
    if (received !== length) throw new Error('short');
  } catch {
    removePartial(file);
    fail('USAGE', { arg: `payload transfer cut short after ${received} of ${length} bytes` });
  } finally {
    bar.stop();
  }
}
