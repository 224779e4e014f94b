/**
 * Logging. One pino logger is made by the CLI and passed down; services and requests get children.
 *
 * Secrets are redacted here, at the logger, so no caller has to remember: any field named like a
 * credential is censored wherever it appears, and URLs are logged through redactUrl().
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { LogOutput } from './log-output.js';
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
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Epoch milliseconds: an ISO string per line costs a fifth of the whole log call.
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    options.destination ?? (process.stdout.isTTY === true ? terminalDestination() : stdoutDestination()),
  );
  // Its children inherit it (pino makes them with Object.create): see logRequest.
  Object.defineProperty(logger, PLAIN_FORMAT, { value: true });
  return logger;
}

/** Marks a logger whose lines are pino's defaults, for logRequest's direct line. */
const PLAIN_FORMAT = Symbol('tendril.plainFormat');

/** The fields of the "request completed" line (STYLE 7). */
export interface RequestFields {
  readonly remote: string;
  readonly method: string;
  /** Already redacted (redactUrl). */
  readonly url: string;
  readonly status: number;
  readonly ms: number;
  readonly aborted: boolean;
  /** The catalogue code of a refusal or failure, and why it was given (never a secret). */
  readonly code?: string;
  readonly why?: string;
}

type PinoInternals = Record<symbol, unknown> & Logger;

/**
 * A person's terminal: each line made readable (src/log-pretty.ts) and written at once. Files and
 * pipes (a detached node's log, journald) get the JSON lines.
 */
function terminalDestination(): DestinationStream {
  const color = process.stdout.hasColors?.() === true;
  return { write: (line: string) => void process.stdout.write(`${prettyLogLine(line.trimEnd(), color)}\n`) };
}

/**
 * Writes the one line per request. A logger made by createLogger gets the line as one string,
 * byte for byte what pino would write for these fields (its level and time prefix, the logger's
 * bindings, the message), straight to its destination: pino's walk of a fields object, with its
 * per-property strings, costs a request more than the rest of the line's way to the log. None of
 * the fields is a secret (the URL is redacted before), so no redaction is skipped. Any other
 * logger (tests' capturing ones) is called as usual.
 */
export function logRequest(log: Logger, level: 'info' | 'error', f: RequestFields): void {
  const l = log as PinoInternals;
  if (l[PLAIN_FORMAT] !== true) {
    const { aborted, code, why, ...rest } = f;
    log[level]({ ...rest, ...(aborted ? { aborted } : {}), ...(code === undefined ? {} : { code }), ...(why === undefined ? {} : { why }) }, 'request completed');
    return;
  }
  const { lsCacheSym, timeSym, chindingsSym, streamSym } = pino.symbols;
  const prefix = (l[lsCacheSym] as Record<number, string>)[log.levels.values[level]!];
  const time = (l[timeSym] as () => string)();
  const line =
    `${prefix}${time}${l[chindingsSym] as string},"remote":${JSON.stringify(f.remote)},"method":${JSON.stringify(f.method)},` +
    `"url":${JSON.stringify(f.url)},"status":${f.status},"ms":${f.ms}${f.aborted ? ',"aborted":true' : ''}` +
    `${f.code === undefined ? '' : `,"code":${JSON.stringify(f.code)}`}${f.why === undefined ? '' : `,"why":${JSON.stringify(f.why)}`},"msg":"request completed"}\n`;
  (l[streamSym] as DestinationStream).write(line);
}

/** Standard output into a file or pipe, written asynchronously in batches (src/log-output.ts). */
function stdoutDestination(): DestinationStream {
  return new LogOutput(1, false);
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
