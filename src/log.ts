/**
 * Logging. One pino logger is made by the CLI and passed down; services and requests get children.
 *
 * Secrets are redacted here, at the logger, so no caller has to remember: any field named like a
 * credential is censored wherever it appears, and URLs are logged through redactUrl().
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyLogLine } from './log-pretty.js';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const SECRET_KEYS = ['pin', 'password', 'token', 'secret', 'authorization', 'passphrase'];

/**
 * pino redaction paths: the secret keys at the top level of a log record and inside the header and
 * query objects that could carry them. Wildcard paths would cost more per line than serving a
 * request, so log records keep secrets-bearing objects at these known places only.
 */
const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `headers.${k}`),
  ...SECRET_KEYS.map((k) => `query.${k}`),
  'headers["x-tendril-token"]',
];

/**
 * The node's logger. By default it writes to stdout asynchronously: a synchronous write per
 * request line would cost more than serving the request. Call flush() before exiting.
 */
export function createLogger(options: { level: LogLevel; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Epoch milliseconds: an ISO string per line costs a fifth of the whole log call.
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    options.destination ?? (process.stdout.isTTY === true ? terminalDestination() : stdoutDestination()),
  );
}

/**
 * A person's terminal: each line made readable (src/log-pretty.ts) and written at once. Files and
 * pipes (a detached node's log, journald) get the JSON lines.
 */
function terminalDestination(): DestinationStream {
  const color = process.stdout.hasColors?.() === true;
  return { write: (line: string) => void process.stdout.write(`${prettyLogLine(line.trimEnd(), color)}\n`) };
}

/** Log bytes held while writes fail (the log's disk is full); lines beyond it are dropped. */
const MAX_UNWRITTEN = 4 * 1024 * 1024;

/**
 * Standard output, written asynchronously. Into a file or pipe, lines are batched into writes of
 * 4 KiB or more (one write per request line costs more than the request) and flushed at least
 * every second; on a terminal every line goes out at once.
 *
 * A log that cannot be written (ENOSPC when its disk is full) must not stop the node. Unheard,
 * the stream's 'error' is thrown at the process, and pino's exit hook then retries the write
 * forever (sonic-boom's flushSync retries every error, not only EAGAIN): the node hangs, holding
 * its port and pid lock. Heard, lines wait (up to MAX_UNWRITTEN, then are dropped) and go out once
 * a write succeeds; a log still failing at exit is given up instead of flushed.
 */
function stdoutDestination(): DestinationStream {
  const tty = process.stdout.isTTY === true;
  const dest = pino.destination({ dest: 1, sync: false, minLength: tty ? 0 : 4096, maxLength: MAX_UNWRITTEN });
  if (!tty) setInterval(() => dest.flush(), 1000).unref();
  let failing = false;
  dest.on('error', () => (failing = true));
  dest.on('write', () => (failing = false));
  // Prepended: it must run before pino's own exit hook, which would flush forever.
  process.prependListener('exit', () => {
    if (failing) dest.destroy();
  });
  return dest;
}

/** A logger that writes nothing, for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const SECRET_PARAM = new RegExp(`^(${SECRET_KEYS.join('|')}|bundle-secret)$`, 'i');

/**
 * The request target with the values of secret-looking query parameters replaced, e.g.
 * `/restful/keyring/add?pin=1234` → `/restful/keyring/add?pin=[redacted]`. PINs travel in query
 * strings in the Serval API, so raw URLs must never reach a log.
 */
export function redactUrl(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  if (q === -1) return rawUrl;
  const parts = rawUrl
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // An undecodable name is logged as sent; only its value could be secret.
      }
      return eq !== -1 && SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${rawUrl.slice(0, q)}?${parts.join('&')}`;
}
