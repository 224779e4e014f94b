/**
 * Starting the commit writer (commit-writer.ts) in a worker thread: from the build, its .js
 * module; from TypeScript source, a bundle of it (see sourceBundle).
 */
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { WriterData } from './commit-wire.js';

// The writer's module next to this one: .js when built, .ts when run from source under tsx.
const FROM_SOURCE = extname(fileURLToPath(import.meta.url)) === '.ts';
const WRITER_URL = new URL(`./commit-writer.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);

/** Starts commit-writer.ts in a worker thread. */
export function startWriterThread(data: WriterData, transferList: readonly MessagePort[]): Worker {
  if (!FROM_SOURCE) return new Worker(WRITER_URL, { workerData: data, transferList: [...transferList] });
  return new Worker(sourceBundle(), { eval: true, workerData: data, transferList: [...transferList] });
}

let bundled: string | undefined;

/**
 * The writer as one CommonJS script, when running from TypeScript source (the tests and scripts,
 * under `node --import tsx`): Node 20 applies no loader to worker threads. The writer and its few
 * imports are bundled once per process by esbuild, which tsx itself runs on, so a store opens
 * about as fast as from the build; registering tsx in each worker took ~250 ms and ~30 MB.
 */
function sourceBundle(): string {
  if (bundled !== undefined) return bundled;
  const require = createRequire(import.meta.url);
  const esbuild = require('esbuild') as { buildSync(options: object): { outputFiles: Array<{ text: string }> } };
  const out = esbuild.buildSync({
    entryPoints: [fileURLToPath(WRITER_URL)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
    // Resolved here, so that the worker finds the native module whatever its working directory.
    alias: { 'better-sqlite3': require.resolve('better-sqlite3') },
    external: [require.resolve('better-sqlite3')],
  });
  bundled = out.outputFiles[0]!.text;
  return bundled;
}

