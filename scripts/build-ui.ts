/**
 * Builds the web UI (ui/) into dist/ui/, which the node serves at /ui (src/http/api/ui.ts): one
 * script and one stylesheet (imported by the script) bundled and minified by esbuild, each also
 * gzipped for browsers that take it, and the page and its icon copied. `npm run build` runs it
 * (and so `npm ci`, through `prepare`); the UI tests run it when the sources are newer than the
 * build, so they always test the sources as they are.
 *
 *   node --import tsx scripts/build-ui.ts
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { UI_DIR } from '../src/http/api/ui.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SOURCES = join(ROOT, 'ui');
/** What the bundle is made of: the UI and the typed client it imports. */
const INPUTS = [SOURCES, join(ROOT, 'src/client')];

export interface BuiltFile {
  readonly name: string;
  readonly bytes: number;
}

/**
 * Writes dist/ui/ (or `outdir`) afresh; resolves with the names and sizes of what it wrote. The
 * files are made in a directory beside it and moved into place at once, so a node serving the old
 * build never reads half of the new one.
 */
export async function buildUi(outdir = UI_DIR): Promise<BuiltFile[]> {
  const dir = outdir.replace(/\/$/, '');
  const fresh = `${dir}.new-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  await build({
    entryPoints: { app: join(SOURCES, 'src/main.tsx') },
    outdir: fresh,
    bundle: true,
    minify: true,
    format: 'iife',
    // Browsers of the last few years: fetch streams, `??`, private fields.
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(SOURCES, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'favicon.svg']) copyFileSync(join(SOURCES, file), join(fresh, file));
  for (const file of ['app.js', 'app.css']) writeFileSync(join(fresh, `${file}.gz`), gzipSync(readFileSync(join(fresh, file)), { level: 9 }));
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(fresh, dir);
  rmSync(old, { recursive: true, force: true });
  return readdirSync(dir).map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
}

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** True when dist/ui/ is missing or older than a source of the UI. */
export function uiIsStale(outdir = UI_DIR): boolean {
  const built = join(outdir, 'app.js');
  return !existsSync(built) || Math.max(...INPUTS.map(newest)) > statSync(built).mtimeMs;
}

/** Builds the UI if its sources changed since the last build (for tests and benchmarks). */
export async function ensureUiBuilt(): Promise<void> {
  if (uiIsStale()) await buildUi();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildUi();
  process.stdout.write(`web UI built in ${UI_DIR}: ${files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}\n`);
}
