/**
 * What handlers receive and what they return. Handlers never touch the response: they return one
 * of the Result values below and src/http/respond.ts writes it (STYLE: handlers return values).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { JsonValue } from '../errors.js';
import type { Logger } from '../log.js';
import type { ContentType } from './content-type.js';
import type { RenderedRow } from './json.js';
import type { QueryParameter } from './target.js';

/** Who is calling, as decided by the access step. */
export interface Principal {
  /** `basic:NAME`, `token:ID`, `local` (control socket) or `anonymous` (noauth, dev mode). */
  readonly id: string;
  /** False for read-only credentials: such callers may only use routes whose scope is `read`. */
  readonly canWrite: boolean;
  /** False for API tokens: only a user of the node may use `manage` routes (API tokens). */
  readonly canManage: boolean;
}

export interface RequestContext {
  readonly method: string;
  /** Decoded path (spec §1.3: `+` and `%XX` decoded before routing). */
  readonly path: string;
  readonly query: readonly QueryParameter[];
  /** Path parameters captured by the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** Parsed request Content-Type, when the request has a body. */
  readonly contentType: ContentType | undefined;
  readonly principal: Principal;
  /** The client's address (as a dedicated server in front reports it), or `local` (control socket). */
  readonly client: string;
  readonly log: Logger;
  /** Date.now() when the request arrived; long-polls end relative to it (spec §1.11.5). */
  readonly startedAt: number;
  /** Aborted when the client goes away, so long work can stop early. */
  readonly signal: AbortSignal;
  /** The request body. The first read sends `100 Continue` if the client asked for it. */
  body(): AsyncIterable<Buffer>;
  /** The raw request, for the few places that need socket facts. */
  readonly req: IncomingMessage;
  /** The first value of a query parameter. */
  queryValue(name: string): string | undefined;
}

export type HeaderMap = Readonly<Record<string, string | number>>;

/** A JSON result object (spec §1.11.3). */
export interface JsonResult {
  readonly kind: 'json';
  readonly status: number;
  readonly reason?: string;
  readonly members?: ReadonlyArray<readonly [string, JsonValue]>;
  readonly headers?: HeaderMap;
}

export type Row = readonly JsonValue[] | RenderedRow;

/** A JSON table (spec §1.11.4), written row by row as the iterable yields. */
export interface JsonTable {
  readonly kind: 'table';
  readonly columns: readonly string[];
  /** Members written before `"header"` (MeshMS message lists, MeshMB feed name). */
  readonly prefix?: ReadonlyArray<readonly [string, JsonValue]>;
  readonly rows: Iterable<Row> | AsyncIterable<Row>;
  /**
   * A long-poll: rows may arrive long after each other, so each is flushed at once and the
   * connection's idle timeout is suspended until the iterable ends.
   */
  readonly live?: boolean;
  readonly headers?: HeaderMap;
}

/** Any other body: a manifest, a payload. */
export interface BodyResult {
  readonly kind: 'body';
  readonly status: number;
  readonly reason?: string;
  readonly contentType: string;
  readonly headers?: HeaderMap;
  /** The bytes, or a stream of exactly `length` bytes. */
  readonly body: Buffer | (() => Readable);
  /** undefined: a stream of unknown length, sent chunked. */
  readonly length: number | undefined;
  /**
   * A stream that may be quiet for long (a sync link): the connection's idle timeout is
   * suspended, as for a long-poll.
   */
  readonly live?: boolean;
}

export type Result = JsonResult | JsonTable | BodyResult;

export type Handler = (ctx: RequestContext) => Result | Promise<Result>;

export function jsonResult(
  status: number,
  reason?: string,
  members?: ReadonlyArray<readonly [string, JsonValue]>,
  headers?: HeaderMap,
): JsonResult {
  return { kind: 'json', status, reason, members, headers };
}
