/**
 * What every part of the client shares: the typed openapi-fetch client over the transport, the
 * credentials, and the two ways a call ends (a value, or an ApiError).
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import { ApiError, apiErrorOf, type JsonResult } from './errors.js';
import type { paths } from './generated/api.js';
import { multipartBody, type Part } from './multipart.js';
import type { Transport } from './transport.js';

export type Api = Client<paths>;

/** HTTP Basic (a user of api.restful.users) or an API token; none for dev mode and the control socket. */
export type Credentials = { readonly user: string; readonly password: string } | { readonly token: string };

export interface Core {
  readonly api: Api;
  readonly transport: Transport;
  /** The Authorization header of the credentials, if any. */
  readonly auth: Readonly<Record<string, string>>;
}

function basic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

export function makeCore(transport: Transport, credentials: Credentials | undefined): Core {
  const auth: Record<string, string> = {};
  if (credentials && 'token' in credentials) auth.Authorization = `Bearer ${credentials.token}`;
  else if (credentials) auth.Authorization = basic(credentials.user, credentials.password);
  const api = createFetchClient<paths>({ baseUrl: transport.baseUrl, fetch: (request) => transport.fetch(request), headers: auth });
  return { api, transport, auth };
}

interface FetchResult<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/** The data of a successful openapi-fetch call; an ApiError otherwise. */
export async function ok<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const result = error !== null && typeof error === 'object' && 'http_status_code' in error ? (error as JsonResult) : undefined;
  throw new ApiError(response.status, response.statusText, response.headers.get('tendril-error') ?? undefined, result);
}

/** The response itself when it is a success (a stream to read); an ApiError otherwise. */
export async function okResponse(response: Response): Promise<Response> {
  if (response.ok) return response;
  throw await apiErrorOf(response);
}

export interface UploadOptions {
  /** Called as bytes of the body go out: bytes sent so far, and the body's total. */
  readonly onProgress?: (sent: number, total: number) => void;
  /** Aborting cancels the upload: the node stores nothing of it. */
  readonly signal?: AbortSignal;
}

/** POSTs a multipart form; resolves with the response, whatever its status. */
export function postForm(core: Core, path: string, parts: readonly Part[], options: UploadOptions = {}): Promise<Response> {
  const body = multipartBody(parts);
  return core.transport.send({
    method: 'POST',
    path,
    headers: { ...core.auth, 'Content-Type': body.contentType },
    body,
    onProgress: options.onProgress,
    signal: options.signal,
  });
}

/** `?a=1&b=2` of the defined values (repeated names allowed), or ''. */
export function queryString(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  const defined = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  return defined.length === 0 ? '' : `?${defined.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

/** A fetch of `path` through the transport with the credentials, as a raw Response. */
export function get(core: Core, path: string, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  return core.transport.fetch(new Request(core.transport.baseUrl + path, { headers: { ...core.auth, ...init.headers }, signal: init.signal }));
}
