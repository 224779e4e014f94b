/**
 * The per-request object: what handlers see (RequestContext) and what the response writer needs
 * (ResponseContext). One class rather than an object literal with closures and getters, because it
 * is made for every request and its shape should be fixed and cheap.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TendrilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ContentType } from './content-type.js';
import type { ResponseContext } from './respond.js';
import { queryValue, type QueryParameter } from './target.js';
import type { Principal, RequestContext } from './types.js';

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

export class Context implements RequestContext, ResponseContext {
  readonly method: string;
  readonly startedAt = Date.now();
  path = '';
  query: readonly QueryParameter[] = [];
  params: Readonly<Record<string, string>> = NO_PARAMS;
  /** The matched route's pattern in the route table, once matched (for the metrics). */
  route: string | undefined = undefined;
  contentType: ContentType | undefined = undefined;
  principal: Principal = { id: 'anonymous', canWrite: false, canManage: false };
  client = 'local';
  /** The refusal of this request, for its log line (code and why). */
  error: TendrilError | undefined = undefined;
  /** CORS headers for every response of this request, once the Origin has been checked. */
  cors: Readonly<Record<string, string>> | undefined = undefined;
  /** How results and errors are written: set from the family once it is known. */
  resultFormat: 'json' | 'html' = 'json';
  private abort: AbortController | undefined = undefined;
  private continued = false;
  private stopped = false;

  constructor(
    readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly log: Logger,
    readonly serverHeader: string,
    private readonly expectContinue: boolean,
  ) {
    this.method = req.method ?? 'GET';
  }

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  /** Made on first use only: most requests never need one. */
  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    if (this.res.closed || this.stopped) this.abort.abort();
    return this.abort.signal;
  }

  /** Called when the response closes, finished or not. */
  closed(): void {
    this.abort?.abort();
  }

  /** Ends a long-poll whose client has gone (or half-closed): it finishes its table at once. */
  stopLive(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  queryValue(name: string): string | undefined {
    return queryValue(this.query, name);
  }

  body(): AsyncIterable<Buffer> {
    if (this.expectContinue && !this.continued && !this.res.headersSent) this.res.writeContinue();
    this.continued = true;
    return this.req;
  }
}
