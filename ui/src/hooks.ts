/** The few hooks every page shares: loading a value, polling it, following a newsince stream, the route. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Loads again (keeping the value shown until the new one arrives). */
  readonly reload: () => void;
}

/** Calls `load` when `deps` change (and on reload()); a stale answer never overwrites a newer one. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Calls `tick` now (unless `immediate` is false) and every `ms` while the page is visible, until unmounted. */
export function useInterval(tick: () => void, ms: number, immediate = true): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (immediate) saved.current();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    const onVisible = (): void => {
      if (document.visibilityState === 'visible') saved.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [ms, immediate]);
}

/**
 * Iterates a live stream (a newsince iterator of the client) while `deps` hold, giving each row to
 * `onRow`; the stream is closed when the component goes or the deps change, so a page holds no
 * long-poll it does not show (browsers allow only six connections to one server).
 */
export function useFollow<T>(
  open: ((signal: AbortSignal) => AsyncIterable<T>) | undefined,
  onRow: (row: T) => void,
  onError: (error: unknown) => void,
  deps: readonly unknown[],
): void {
  const handlers = useRef({ onRow, onError });
  handlers.current = { onRow, onError };
  useEffect(() => {
    if (open === undefined) return;
    const stop = new AbortController();
    void (async () => {
      try {
        for await (const row of open(stop.signal)) {
          if (stop.signal.aborted) break;
          handlers.current.onRow(row);
        }
      } catch (error) {
        if (!stop.signal.aborted) handlers.current.onError(error);
      }
    })();
    return () => stop.abort();
  }, deps);
}

/** The part of the location hash after `#/`, split on `/`, e.g. `#/messages/SID` → ['messages', 'SID']. */
export function useRoute(): string[] {
  const read = (): string[] => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = (): void => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function go(...parts: string[]): void {
  location.hash = `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** A change the user asked for: busy while it runs, then what it did or what went wrong. */
export interface Action {
  readonly busy: boolean;
  readonly error: unknown;
  readonly message: string | undefined;
  /** Runs `what`, which resolves with a sentence saying what it did; then `done`. */
  readonly run: (what: () => Promise<string>) => Promise<void>;
}

export function useAction(done: () => void = () => {}): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();
  return {
    busy,
    error,
    message,
    async run(what) {
      setBusy(true);
      setError(undefined);
      setMessage(undefined);
      try {
        setMessage(await what());
        done();
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    },
  };
}

/** Calls `fn` once, `ms` after the last of a burst of calls. */
export function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => saved.current(), ms);
  };
}
