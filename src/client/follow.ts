/**
 * newsince long-polls as async iterators. A long-poll lists what is newer than a token, then
 * streams new rows as they arrive until the node's api.restful.newsince_timeout ends it; the
 * iterator then asks again with the token of the last row it gave, so a caller sees one endless
 * stream of rows. When the node cannot be reached (it is restarting, a dedicated server answers
 * 503) the iterator waits and tries again with the same token, so no row is lost or repeated.
 * It ends only when its signal aborts (or the caller stops iterating); an answer that retrying
 * cannot change (401, 403, 404…) throws.
 */
import { apiErrorOf } from './errors.js';
import { readTableStream, rowObject } from './table.js';

/** Statuses that a later attempt may not get: the node restarting, busy or overloaded. */
const TRANSIENT = new Set([408, 423, 429, 500, 502, 503, 504]);

export interface FollowOptions {
  /** A token from an earlier row: only newer rows are listed. */
  readonly token?: string;
  /** Ends the iteration (the iterator then returns, without throwing). */
  readonly signal?: AbortSignal;
  /** Longest wait between attempts while the node is unreachable (default 5000 ms). */
  readonly maxRetryDelayMs?: number;
  /** Told of each failed attempt that will be retried. */
  readonly onRetry?: (error: unknown, delayMs: number) => void;
}

export interface FollowSource {
  /** Opens the long-poll after `token` (none: from the start). */
  open(token: string | undefined, signal: AbortSignal): Promise<Response>;
  /** The column that holds each row's token. */
  readonly tokenColumn: string;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

export async function* follow<T>(source: FollowSource, options: FollowOptions = {}): AsyncGenerator<T> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  let token = options.token;
  let delay = 100;
  const maxDelay = options.maxRetryDelayMs ?? 5000;
  try {
    while (!stop.signal.aborted) {
      let failure: unknown;
      try {
        const response = await source.open(token, stop.signal);
        if (!response.ok) {
          const error = await apiErrorOf(response);
          if (!TRANSIENT.has(response.status)) throw error;
          failure = error;
        } else {
          let header: readonly string[] = [];
          for await (const event of readTableStream(response.body!)) {
            if (event.kind === 'head') {
              header = event.head.header;
              continue;
            }
            const row = rowObject<Record<string, unknown>>(header, event.row);
            const rowToken = row[source.tokenColumn];
            if (typeof rowToken === 'string' && rowToken !== '') token = rowToken;
            delay = 100;
            yield row as T;
          }
          continue; // the long-poll ended: ask again from the last token
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (isFinal(err)) throw err;
        failure = err;
      }
      options.onRetry?.(failure, delay);
      await sleep(delay, stop.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** An answer from the node that another attempt would not change. */
function isFinal(err: unknown): boolean {
  return err instanceof Error && err.name === 'TendrilApiError' && !TRANSIENT.has((err as Error & { status: number }).status);
}
