/**
 * Rhizome (spec §3): lists, the newsince stream, manifests, payloads, and uploads that stream from
 * files, Blobs or bytes with their progress.
 */
import { get, ok, okResponse, postForm, queryString, type Core, type UploadOptions } from './core.js';
import { apiErrorOf, type JsonResult } from './errors.js';
import { follow, type FollowOptions } from './follow.js';
import type { Part, PartBody } from './multipart.js';
import type { Bundle } from './rows.js';
import { tableObjects } from './table.js';

export const MANIFEST_TYPE = 'rhizome/manifest; format=text+binarysig';

export interface BundleFilter {
  readonly service?: string;
  /** SQL LIKE pattern: % and _ are wildcards. */
  readonly name?: string;
  readonly sender?: string;
  readonly recipient?: string;
}

/** What the node says of a bundle in its Serval-Rhizome-Bundle-* headers (spec §3.2), as sent. */
export interface BundleHeaders {
  readonly id?: string;
  readonly version?: string;
  readonly filesize?: string;
  readonly filehash?: string;
  readonly service?: string;
  readonly name?: string;
  readonly author?: string;
  readonly secret?: string;
  readonly rowid?: string;
  readonly inserttime?: string;
  readonly date?: string;
}

export interface StoreStatus {
  readonly code: number;
  readonly message: string;
}

/** The answer to an insert, append or import that the node did not refuse with an error status. */
export interface StoreResult {
  /** 201 stored; 200 already there; 202 not stored (see the statuses). */
  readonly status: number;
  readonly reason: string;
  /** The signed manifest, when the answer carries one (insert and append on success). */
  readonly manifest?: Uint8Array;
  /** The JSON result, when the answer is one. */
  readonly result?: JsonResult;
  readonly bundle: BundleHeaders;
  readonly bundleStatus?: StoreStatus;
  readonly payloadStatus?: StoreStatus;
}

export interface InsertOptions extends UploadOptions {
  /** The payload: text, bytes, a Blob or File, or a file (src/client/node.ts `fileSource`). */
  readonly payload: PartBody;
  /** Its file name, sent with the payload part (the default name of a `file` bundle). */
  readonly filename?: string;
  /** A manifest to complete: its text (`service=file\nname=x\n`) or signed bytes; default empty. */
  readonly manifest?: string | Uint8Array;
  /** An unlocked identity's SID: the author, who can update the bundle later. */
  readonly author?: string;
  /** The bundle secret (64 hex digits): a new version of that bundle. */
  readonly secret?: string;
  /** The bundle ID, to update an existing bundle the author may update. */
  readonly bundleId?: string;
}

export interface ImportOptions extends UploadOptions {
  /** The signed manifest. */
  readonly manifest: Uint8Array;
  /** The payload as stored (still encrypted if the manifest says crypt=1). */
  readonly payload?: PartBody;
}

export interface PayloadOptions {
  /** decrypted.bin rather than raw.bin. */
  readonly decrypted?: boolean;
  /** A Range header value, e.g. `bytes=0-1023`. */
  readonly range?: string;
  readonly signal?: AbortSignal;
}

export interface RhizomeApi {
  list(filter?: BundleFilter): Promise<Bundle[]>;
  /** Every bundle (or those after `token`), then new ones as they arrive, forever (see follow.ts). */
  newsince(options?: FollowOptions & BundleFilter): AsyncGenerator<Bundle>;
  /** The signed manifest and the bundle's headers. */
  manifest(bid: string): Promise<{ manifest: Uint8Array; bundle: BundleHeaders }>;
  /** The payload as a streaming Response (200, or 206 for a range). */
  payload(bid: string, options?: PayloadOptions): Promise<Response>;
  insert(options: InsertOptions): Promise<StoreResult>;
  append(options: InsertOptions): Promise<StoreResult>;
  import(options: ImportOptions): Promise<StoreResult>;
}

/** A header value, unquoted if the node sent it as a quoted-string (the bundle name is, spec §3.2). */
function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

export function bundleHeaders(headers: Headers): BundleHeaders {
  const out: Record<string, string> = {};
  for (const name of ['id', 'version', 'filesize', 'filehash', 'service', 'name', 'author', 'secret', 'rowid', 'inserttime', 'date']) {
    const value = headers.get(`serval-rhizome-bundle-${name}`);
    if (value !== null) out[name] = unquote(value);
  }
  return out;
}

function statusOf(headers: Headers, which: 'bundle' | 'payload'): StoreStatus | undefined {
  const code = headers.get(`serval-rhizome-result-${which}-status-code`);
  if (code === null) return undefined;
  return { code: Number(code), message: headers.get(`serval-rhizome-result-${which}-status-message`) ?? '' };
}

async function storeResult(response: Response): Promise<StoreResult> {
  if (response.status >= 300) throw await apiErrorOf(response);
  const type = response.headers.get('content-type') ?? '';
  const bytes = new Uint8Array(await response.arrayBuffer());
  const isManifest = type.startsWith('rhizome/manifest');
  return {
    status: response.status,
    reason: response.statusText,
    manifest: isManifest ? bytes : undefined,
    result: isManifest || bytes.length === 0 ? undefined : (JSON.parse(new TextDecoder().decode(bytes)) as JsonResult),
    bundle: bundleHeaders(response.headers),
    bundleStatus: statusOf(response.headers, 'bundle'),
    payloadStatus: statusOf(response.headers, 'payload'),
  };
}

/** `id=` and `version=` of a manifest, so the node can answer an import it already has at once (spec §3.10). */
function idAndVersion(manifest: Uint8Array): string {
  const end = manifest.indexOf(0);
  const text = new TextDecoder().decode(manifest.subarray(0, end < 0 ? manifest.length : end));
  const id = /^id=([0-9A-Fa-f]{64})$/m.exec(text)?.[1];
  const version = /^version=(\d{1,20})$/m.exec(text)?.[1];
  return id !== undefined && version !== undefined ? queryString([['id', id], ['version', version]]) : '';
}

export function rhizomeApi(core: Core): RhizomeApi {
  const { api } = core;
  const write = (path: string, o: InsertOptions): Promise<StoreResult> => {
    const parts: Part[] = [];
    if (o.author !== undefined) parts.push({ name: 'bundle-author', contentType: 'serval/sid; format=hex', body: o.author });
    if (o.bundleId !== undefined) parts.push({ name: 'bundle-id', contentType: 'rhizome/bid; format=hex', body: o.bundleId });
    if (o.secret !== undefined) parts.push({ name: 'bundle-secret', contentType: 'rhizome/bundlesecret; format=hex', body: o.secret });
    parts.push({ name: 'manifest', contentType: MANIFEST_TYPE, body: o.manifest ?? '' });
    parts.push({ name: 'payload', filename: o.filename, body: o.payload });
    return postForm(core, path, parts, o).then(storeResult);
  };
  return {
    async list(filter = {}) {
      return tableObjects<Bundle>(await ok(api.GET('/restful/rhizome/bundlelist.json', { params: { query: { ...filter } } })));
    },
    newsince(options = {}) {
      const filter = queryString([['service', options.service], ['name', options.name], ['sender', options.sender], ['recipient', options.recipient]]);
      return follow<Bundle>(
        {
          tokenColumn: '.token',
          open: (token, signal) =>
            get(core, `/restful/rhizome/newsince/${token === undefined ? '' : `${encodeURIComponent(token)}/`}bundlelist.json${filter}`, { signal }),
        },
        options,
      );
    },
    async manifest(bid) {
      const response = await okResponse(await get(core, `/restful/rhizome/${encodeURIComponent(bid)}.rhm`));
      return { manifest: new Uint8Array(await response.arrayBuffer()), bundle: bundleHeaders(response.headers) };
    },
    async payload(bid, options = {}) {
      const file = options.decrypted ? 'decrypted.bin' : 'raw.bin';
      const headers: Record<string, string> = options.range === undefined ? {} : { Range: options.range };
      return okResponse(await get(core, `/restful/rhizome/${encodeURIComponent(bid)}/${file}`, { headers, signal: options.signal }));
    },
    insert: (options) => write('/restful/rhizome/insert', options),
    append: (options) => write('/restful/rhizome/append', options),
    async import(options) {
      const parts: Part[] = [{ name: 'manifest', contentType: MANIFEST_TYPE, body: options.manifest }];
      if (options.payload !== undefined) parts.push({ name: 'payload', body: options.payload });
      return storeResult(await postForm(core, `/restful/rhizome/import${idAndVersion(options.manifest)}`, parts, options));
    },
  };
}
