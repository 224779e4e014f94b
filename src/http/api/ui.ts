/**
 * The web UI's files: `/ui` is the page, `/ui/FILE` its assets, `/` leads to `/ui/`. The UI is a
 * client of the public REST API and nothing more, so this is all the server does for it: serve
 * the files `npm run build` wrote to dist/ui/ (built from ui/ by scripts/build-ui.ts), gzipped
 * (FILE.gz, made by the build) to browsers that accept it.
 *
 * Only names found in that directory are served, looked up in a Map: a request cannot reach
 * another file (`..`, encoded slashes) or an object's inherited keys (`__proto__`, `constructor`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fail } from '../../errors.js';
import { jsonResult, type BodyResult, type Handler } from '../types.js';

/** dist/ui/ of the package: the same path from src/http/api (tests) and dist/http/api (built). */
export const UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The page holds credentials, so it runs only its own script and talks only to this server: no
 * inline script or style (nothing injected can run), no other origin to load from or send to, no
 * framing by another site (clickjacking the sign-in form). blob: images and downloads are the
 * payloads the page itself fetched.
 */
const HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

interface Asset {
  readonly type: string;
  readonly bytes: Buffer;
  gzip?: Buffer;
}

/** The built files, read once: name → content. Empty when the UI was not built. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return assets;
  }
  for (const name of names) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type !== undefined) assets.set(name, { type, bytes: readFileSync(dir + name) });
  }
  for (const name of names) {
    const plain = name.endsWith('.gz') ? assets.get(name.slice(0, -3)) : undefined;
    if (plain !== undefined) plain.gzip = readFileSync(dir + name);
  }
  return assets;
}

/** True unless the client refuses gzip or names no encoding (`gzip;q=0` is a refusal). */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((item) => {
    const [coding, ...params] = item.trim().toLowerCase().split(';');
    return (coding === 'gzip' || coding === '*') && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

const GZIP_HEADERS = { ...HEADERS, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' };
const PLAIN_HEADERS = { ...HEADERS, Vary: 'Accept-Encoding' };

function served(asset: Asset, acceptEncoding: string | undefined): BodyResult {
  const gzip = asset.gzip !== undefined && acceptsGzip(acceptEncoding);
  const body = gzip ? asset.gzip! : asset.bytes;
  return { kind: 'body', status: 200, contentType: asset.type, body, length: body.length, headers: gzip ? GZIP_HEADERS : PLAIN_HEADERS };
}

export interface UiHandlers {
  readonly root: Handler;
  readonly page: Handler;
  readonly asset: Handler;
}

export function uiHandlers(dir = UI_DIR): UiHandlers {
  let assets: Map<string, Asset> | undefined;
  const find = (name: string): Asset => {
    // Until the UI is built, look again at each request rather than keep an empty answer.
    if (assets === undefined || assets.size === 0) assets = loadAssets(dir);
    const asset = assets.get(name);
    if (asset === undefined) fail(assets.size === 0 ? 'UI_NOT_BUILT' : 'HTTP_NOT_FOUND');
    return asset;
  };
  return {
    root: () => jsonResult(302, 'Found', undefined, { Location: '/ui/' }),
    page: (ctx) => served(find('index.html'), ctx.headers['accept-encoding']),
    asset: (ctx) => served(find(ctx.params.file!), ctx.headers['accept-encoding']),
  };
}
