/**
 * The request pipeline: every API request runs these steps in this order, the order of the
 * reference (spec §1.6, §1.9, §1.10):
 *
 *   1. request line and target limits (431, 400 for >10 parameters, 414), credentials syntax (400)
 *   2. body framing (400 / 415)
 *   3. Host (403: a name this server is not known by), then API family by path prefix (404),
 *      family disabled (404)
 *   4. peer address (403), Fetch Metadata and Origin (403), OPTIONS preflight (200), credentials
 *      (401, or 429 while failures are paid for)
 *   5. route (404 / 405), a legacy GET write while they are off (405), scope of the credentials
 *      (403: read-only, or a token where only a user may), body length for multipart routes (411)
 *   6. the handler, whose result or error is written by src/http/respond.ts; a long-poll over
 *      its limits is answered at once (429 / 503)
 *
 * The Host check comes before anything that tells one path from another, so a page reached by
 * DNS rebinding learns nothing, not even which paths exist. Each refusal's log line says which
 * check refused and why (`code`, `why`), never with a secret.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail, TendrilError } from '../errors.js';
import { logRequest, redactUrl, type Logger } from '../log.js';
import type { RequestObserver } from '../services/metrics/types.js';
import { authenticate, checkPeer, corsHeaders, type AccessPolicy } from './access.js';
import type { Admission } from './admission.js';
import { readCredentials } from './credentials.js';
import { Context } from './context.js';
import { checkFraming, isUnframed } from './framing.js';
import { MAX_HEADER_COUNT, MAX_REQUEST_LINE } from './limits.js';
import { reply, sendError } from './respond.js';
import type { Family, Router } from './router.js';
import type { Result } from './types.js';
import { parseTarget, reservationCost } from './target.js';

export interface PipelineOptions {
  readonly router: Router;
  /** The access rules of this server's mode. */
  readonly policy: AccessPolicy;
  readonly log: Logger;
  /** Value of the Server header. */
  readonly serverHeader: string;
  /**
   * False for a family that is switched off by configuration, or that this server does not serve
   * (`--serve`): it then answers 404.
   */
  readonly familyEnabled: (family: Family) => boolean;
  /**
   * True for the owner-only control socket, which alone serves control routes (a dedicated web
   * server's clients reach the node through servers of its own, never this one).
   */
  readonly control?: boolean;
  /** Long-poll limits (connections are admitted by the listener, src/http/listener.ts). */
  readonly admission?: Admission;
  /** Told of every request's route and completion (the metrics). */
  readonly observer?: RequestObserver;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const routeOf = (match: ReturnType<Router['match']>): string | undefined => (match.kind === 'route' ? match.route.path : undefined);

export interface Pipeline {
  /** For the server's 'request' event. */
  readonly onRequest: RequestListener;
  /** For the server's 'checkContinue' event: `100 Continue` is sent only when the body is read. */
  readonly onCheckContinue: RequestListener;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const { router, log } = options;

  function logCompletion(ctx: Context, res: ServerResponse): void {
    // One line per request (STYLE 7): 5xx at error, the rest at info. Built only when written.
    const level = res.statusCode >= 500 ? 'error' : 'info';
    if (!log.isLevelEnabled(level)) return;
    const e = ctx.error;
    logRequest(log, level, {
      remote: ctx.client,
      method: ctx.method,
      url: redactUrl(ctx.req.url ?? ''),
      status: res.statusCode,
      ms: Date.now() - ctx.startedAt,
      aborted: !res.writableFinished,
      code: e?.code,
      why: e?.why,
    });
  }

  const refuse = (res: ServerResponse, err: unknown, ctx: Context): void => {
    ctx.error = sendError(res, err, ctx);
  };

  /** A long-poll is held only within its limits (a table already streaming is not checked). */
  const admitLive = (ctx: Context, res: ServerResponse, result: Result): boolean => {
    if (result.kind !== 'table' || !result.live || !options.admission) return true;
    const admitted = options.admission.longPoll(ctx.client);
    if (typeof admitted === 'string') {
      // The handler may have started listening already: its signal, aborted, lets it go.
      ctx.stopLive();
      refuse(res, new TendrilError(admitted, { headers: { 'Retry-After': '1' }, why: 'long-poll limit' }), ctx);
      return false;
    }
    res.once('close', admitted);
    return true;
  };

  const answer = (ctx: Context, res: ServerResponse, result: Result): void => {
    if (admitLive(ctx, res, result)) reply(res, result, ctx);
  };

  /**
   * Runs the steps synchronously as far as they go: most requests (a list, an error) complete
   * without a single promise, which keeps the per-request cost near bare node:http.
   */
  function handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const ctx = new Context(req, res, log, options.serverHeader, expectContinue);
    res.once('close', () => {
      ctx.closed();
      logCompletion(ctx, res);
      if (options.observer) {
        // A request refused before routing (401, 403) is still counted under its route.
        const route = ctx.route ?? (ctx.path === '' ? undefined : routeOf(router.match(ctx.method, ctx.path)));
        options.observer.completed(route, ctx.method, res.statusCode, (Date.now() - ctx.startedAt) / 1000);
      }
    });
    // An answer given before the body was read (an early refusal, a 202 "too big") leaves the
    // rest of the upload unread: read and discard it, as the reference does, so the connection
    // stays usable and the client sees the answer rather than a reset.
    res.once('finish', () => {
      if (!req.complete) req.resume();
    });
    const method = ctx.method;
    const rawUrl = req.url ?? '/';
    // A dedicated server's client comes through its link with its own address (LinkSocket).
    ctx.client = req.socket.remoteAddress ?? 'local';

    try {
      if (method.length + rawUrl.length + 11 > MAX_REQUEST_LINE) fail('HTTP_HEADERS_TOO_LARGE');
      if (req.rawHeaders.length / 2 >= MAX_HEADER_COUNT) fail('HTTP_HEADERS_TOO_LARGE');
      if (req.httpVersionMajor !== 1) fail('HTTP_BAD_REQUEST', { reason: 'Unsupported HTTP version' });
      const credentials = readCredentials(req.headers);
      const credentialCost =
        credentials?.scheme === 'basic' ? reservationCost(credentials.user) + reservationCost(credentials.password) : 0;
      const target = parseTarget(rawUrl, credentialCost);
      ctx.path = target.path;
      ctx.query = target.query;
      const control = options.control === true;
      const family = router.family(target.path, control);
      ctx.contentType = checkFraming(req, family?.rawBody);
      const unframed = isUnframed(req);

      const policy = options.policy;
      policy.checkHost?.(req.headers.host);
      if (!family || !options.familyEnabled(family)) fail('HTTP_NOT_FOUND');
      if (family.resultFormat === 'html') ctx.resultFormat = 'html';

      checkPeer(req, policy);
      if (family.refuseBrowsers && req.headers.origin !== undefined) fail('ACCESS_BROWSER_FORBIDDEN');
      ctx.cors = corsHeaders(req, policy, family.public === true);
      if (method === 'OPTIONS') {
        reply(res, { kind: 'json', status: 200 }, ctx);
        return;
      }
      if (!family.public) ctx.principal = authenticate(credentials, policy, ctx.client);

      const match = router.match(method, target.path, control);
      if (match.kind !== 'none' && match.route.emptyBody && Number(req.headers['content-length'] ?? 0) !== 0) {
        fail('HTTP_BAD_CONTENT_LENGTH');
      }
      if (match.kind === 'wrong-method') {
        fail(match.family.wrongMethod === 405 ? 'HTTP_METHOD_NOT_ALLOWED' : 'HTTP_NOT_FOUND');
      }
      if (match.kind === 'none') fail('HTTP_NOT_FOUND');
      const { route } = match;
      ctx.params = match.params;
      ctx.route = route.path;
      options.observer?.started(route.path);
      // The reference's GET forms of writes (keyring/add, SID/set, SID/remove, SID/lock) are what
      // an <img> on any page can send, with no Origin: off unless a server turns them on.
      if (route.method === 'GET' && route.scope === 'write' && !policy.getWrites) fail('ACCESS_GET_WRITE', { why: 'legacy GET write (see --allow-get-writes)' });
      // A token is told it is a token before it is told it is read-only: that is what it cannot change.
      if (route.scope === 'manage' && !ctx.principal.canManage) fail('ACCESS_USERS_ONLY', { why: `credentials ${ctx.principal.id} on a route for users only` });
      // A public family takes no credentials: whoever may reach it may use all of it.
      if (route.scope !== 'read' && !family.public && !ctx.principal.canWrite) fail('ACCESS_READ_ONLY', { why: `read-only credentials ${ctx.principal.id} on a write route` });
      if (route.body === 'multipart' && unframed) fail('HTTP_LENGTH_REQUIRED');

      const result = route.handler(ctx);
      if (result instanceof Promise) {
        result.then(
          (r) => answer(ctx, res, r),
          (err: unknown) => refuse(res, err, ctx),
        );
      } else {
        answer(ctx, res, result);
      }
    } catch (err) {
      refuse(res, err, ctx);
    }
  }

  const listener =
    (expectContinue: boolean): RequestListener =>
    (req, res) => {
      try {
        handle(req, res, expectContinue);
      } catch (err) {
        // handle() catches everything it can answer; this is the last line of defence.
        log.error({ err }, 'request pipeline failed');
        res.destroy();
      }
    };

  return { onRequest: listener(false), onCheckContinue: listener(true) };
}
