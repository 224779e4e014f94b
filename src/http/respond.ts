/**
 * The one place that writes responses: every Result a handler returns, and every error, whatever
 * threw it, goes out through here (STYLE: one error type turned into the JSON result in one place).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isTendrilError, TendrilError, type JsonValue } from '../errors.js';
import type { Logger } from '../log.js';
import { HTML_TYPE, htmlResult } from './html-result.js';
import { JSON_TABLE_TAIL, jsonResult, jsonTableHead, jsonTableRow, RenderedRow } from './json.js';
import type { BodyResult, HeaderMap, JsonTable, Result, Row } from './types.js';

export const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  411: 'Length Required',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  419: 'Authentication Timeout',
  422: 'Unprocessable Entity',
  423: 'Locked',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The reference's default reason phrases (spec §1.11.2). */
export function defaultReason(status: number): string {
  return REASONS[status] ?? (status >= 400 ? 'A suffusion of yellow' : 'Unknown reason');
}

/**
 * A reason phrase safe for the status line: client-supplied text (a form part name) can end up in
 * a reason, and Node refuses control characters there, so they become spaces and anything
 * outside Latin-1 becomes `?`.
 */
export function safeReason(reason: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  return reason.replace(/[\0-\x08\x0a-\x1f\x7f]/g, ' ').replace(/[^\0-\xff]/g, '?');
}

const JSON_TYPE = 'application/json';

export interface ResponseContext {
  readonly serverHeader: string;
  /** CORS headers every response of this request carries, if it came from an allowed Origin. */
  readonly cors: HeaderMap | undefined;
  readonly log: Logger;
  /** Ends a long-poll early (its client went away); the table then finishes as at its deadline. */
  stopLive?(): void;
  /** `html` for families that answer with the reference's HTML status page (default JSON). */
  readonly resultFormat?: 'json' | 'html';
}

/**
 * Writes the status line and headers: Content-Type, Content-Length (unless streaming), Server,
 * CORS, then the result's own. One object is built per response: this runs for every request.
 */
function head(
  res: ServerResponse,
  rc: ResponseContext,
  status: number,
  reason: string | undefined,
  contentType: string,
  length: number | undefined,
  extra: HeaderMap | undefined,
): void {
  const headers: Record<string, string | number> = { 'Content-Type': contentType };
  if (length !== undefined) headers['Content-Length'] = length;
  headers.Server = rc.serverHeader;
  if (rc.cors) Object.assign(headers, rc.cors);
  if (extra) Object.assign(headers, extra);
  res.writeHead(status, safeReason(reason ?? defaultReason(status)), headers);
}

function sendJson(res: ServerResponse, rc: ResponseContext, status: number, reason: string | undefined, body: string, extra: HeaderMap | undefined): void {
  head(res, rc, status, reason, JSON_TYPE, Buffer.byteLength(body, 'utf8'), extra);
  // A string body goes out in one write with the header block.
  res.end(body, 'utf8');
}

/** A result object (status, reason, members) in the request's format: JSON, or the HTML page. */
function sendResult(
  res: ServerResponse,
  rc: ResponseContext,
  status: number,
  reason: string,
  members: ReadonlyArray<readonly [string, JsonValue]> | undefined,
  extra: HeaderMap | undefined,
): void {
  if (rc.resultFormat !== 'html') {
    sendJson(res, rc, status, reason, jsonResult(status, reason, members), extra);
    return;
  }
  const body = htmlResult(status, reason, members);
  head(res, rc, status, reason, HTML_TYPE, Buffer.byteLength(body, 'utf8'), extra);
  res.end(body, 'utf8');
}

function sendTable(res: ServerResponse, rc: ResponseContext, table: JsonTable): void | Promise<void> {
  // A table already in memory (an array) goes out in one write with its length; anything else
  // (a generator over the store, a long-poll) streams in batches.
  if (table.live || !Array.isArray(table.rows)) return streamTable(res, rc, table);
  let body = jsonTableHead(table.columns, table.prefix);
  let first = true;
  for (const row of table.rows as readonly Row[]) {
    body += jsonTableRow(row, first);
    first = false;
  }
  sendJson(res, rc, 200, undefined, body + JSON_TABLE_TAIL, table.headers);
}

async function streamTable(res: ServerResponse, rc: ResponseContext, table: JsonTable): Promise<void> {
  head(res, rc, 200, undefined, JSON_TYPE, undefined, table.headers);
  if (table.live) {
    res.socket?.setTimeout(0); // a paused long-poll is not an idle connection
    endWithClient(res, rc);
  }
  let pending = jsonTableHead(table.columns, table.prefix);
  let first = true;
  const flush = async (): Promise<void> => {
    if (pending.length > 0 && !res.write(pending)) await once(res, 'drain');
    pending = '';
  };
  if (table.live) await flush();
  for await (const row of table.rows) {
    if (res.destroyed) return;
    if (row instanceof RenderedRow && Buffer.isBuffer(row.json)) {
      // Rows kept as bytes go out as they are, after what was pending.
      pending += first ? '\n' : ',\n';
      first = false;
      await flush();
      if (!res.write(row.json)) await once(res, 'drain');
      continue;
    }
    pending += jsonTableRow(row, first);
    first = false;
    if (table.live || pending.length >= 16384) await flush();
  }
  if (!res.destroyed) res.end(pending + JSON_TABLE_TAIL);
}

/**
 * Calls `fn` once when the client stops sending (its FIN arrives) while `res` is still being
 * written. The server keeps its own half open to answer (httpAllowHalfOpen), so without this a
 * client that has gone is noticed only when a write fails — for a quiet long-poll, at its deadline.
 */
export function whenClientEnds(res: ServerResponse, fn: () => void): void {
  const socket = res.socket;
  if (!socket) return;
  if (socket.readableEnded) {
    fn();
    return;
  }
  socket.once('end', fn);
  res.once('close', () => socket.off('end', fn));
}

/**
 * A long-poll ends as soon as its client stops sending: a client that closed its connection is
 * gone, and one that half-closed after its request wants the answer it can have now, not one a
 * minute later. Either way the table is finished at once and the connection, its buffers and the
 * long-poll's listeners go, rather than lingering until the deadline. (A dedicated server in
 * front passes its client's FIN on to the node: the same 'end' here.)
 */
function endWithClient(res: ServerResponse, rc: ResponseContext): void {
  if (rc.stopLive) whenClientEnds(res, rc.stopLive.bind(rc));
}

function sendBody(res: ServerResponse, rc: ResponseContext, result: BodyResult): void | Promise<void> {
  head(res, rc, result.status, result.reason, result.contentType, result.length, result.headers);
  if (Buffer.isBuffer(result.body)) {
    res.end(result.body);
    return;
  }
  if (result.live) res.socket?.setTimeout(0);
  return pipeline(result.body(), res).catch((err: unknown) => {
    // The client went away before the end (a cut download, a sync link dropped): nobody to tell.
    if (res.destroyed && (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw err;
  });
}

/** Writes a handler's result; returns a promise only when the body streams. */
export function send(res: ServerResponse, result: Result, rc: ResponseContext): void | Promise<void> {
  switch (result.kind) {
    case 'json': {
      sendResult(res, rc, result.status, result.reason ?? defaultReason(result.status), result.members, result.headers);
      return;
    }
    case 'table':
      return sendTable(res, rc, result);
    case 'body':
      return sendBody(res, rc, result);
  }
}

/** Writes a result and turns any failure while writing into an error response (or a cut connection). */
export function reply(res: ServerResponse, result: Result, ctx: ResponseContext): void {
  try {
    const streaming = send(res, result, ctx);
    if (streaming) streaming.catch((err: unknown) => sendError(res, err, ctx));
  } catch (err) {
    sendError(res, err, ctx);
  }
}

/** The TendrilError behind any thrown value: unexpected ones become an opaque 500, logged in full. */
export function asTendrilError(err: unknown, log: Logger): TendrilError {
  if (isTendrilError(err)) {
    // A 503 is a state (the node cannot be reached, said once where it is found), not a fault
    // with a stack worth logging for every request while it lasts.
    if (err.status >= 500 && err.status !== 503) log.error({ err, code: err.code }, 'request failed');
    return err;
  }
  log.error({ err }, 'unexpected error');
  return new TendrilError('INTERNAL', { cause: err });
}

/**
 * A client that goes away in the middle of its upload is no fault of the node: Node fails the
 * request body with ECONNRESET ("aborted"), which becomes a 400 logged at info, not an opaque 500.
 */
function bodyCutShort(res: ServerResponse, err: unknown): TendrilError | undefined {
  if (isTendrilError(err) || (err as NodeJS.ErrnoException | undefined)?.code !== 'ECONNRESET') return undefined;
  return res.req.complete ? undefined : new TendrilError('HTTP_INCOMPLETE_BODY', { cause: err });
}

/**
 * Writes an error as a JSON result. If the response has already started (a stream failed midway)
 * there is no honest way to report it, so the connection is cut and the client sees a short body.
 */
export function sendError(res: ServerResponse, err: unknown, ctx: ResponseContext): TendrilError {
  const e = asTendrilError(bodyCutShort(res, err) ?? err, ctx.log);
  if (res.headersSent) {
    res.destroy();
    return e;
  }
  sendResult(res, ctx, e.status, e.reason, e.members, { ...e.headers, 'Tendril-Error': e.code });
  return e;
}

/**
 * A complete HTTP/1.1 error response as raw bytes, for errors Node's parser finds before there is
 * a request object (oversized headers, garbage request lines). The connection closes after it.
 */
export function rawErrorResponse(e: TendrilError, serverHeader: string): Buffer {
  const body = Buffer.from(jsonResult(e.status, e.reason), 'utf8');
  const lines = [
    `HTTP/1.1 ${e.status} ${safeReason(e.reason)}`,
    'Connection: close',
    `Server: ${serverHeader}`,
    `Content-Type: ${JSON_TYPE}`,
    `Content-Length: ${body.length}`,
    `Tendril-Error: ${e.code}`,
    ...Object.entries(e.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}
