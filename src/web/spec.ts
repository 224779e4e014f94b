/**
 * A web server's specification, from `web server` arguments — on the command line of a dedicated
 * server, or inside `start --commands="web server …; web server …"` and the `web.commands`
 * config key for servers embedded in the node — validated before anything listens, so an
 * impossible combination is a clear start-up error.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { fail } from '../errors.js';
import { HOST_NAME_RE } from './hosts.js';
import { isMode, isServe, MODE_POLICY, MODES, SERVES, type Mode, type Serve } from './modes.js';

export interface ServerSpec {
  readonly mode: Mode;
  readonly bind: string;
  /** undefined: rhizome.http.port (with the reference's +100 search). */
  readonly port: number | undefined;
  readonly certfile?: string;
  readonly keyfile?: string;
  readonly clientca?: string;
  /**
   * Extra browser origins allowed beside the local ones, e.g. https://app.example.org; `null`
   * admits opaque origins (sandboxed frames, file: pages), `*` every origin (dev mode only).
   */
  readonly allowedOrigins: readonly string[];
  /** Names clients reach it by, beside localhost and IP addresses (`--host-name`, repeatable). */
  readonly hostNames?: readonly string[];
  /** Serve the reference's legacy GET forms of writes (`--allow-get-writes`); off by default. */
  readonly getWrites?: boolean;
  /** `--serve=LIST`; undefined: the mode's default (see servesOf). */
  readonly serve?: readonly Serve[];
}

/** What a server serves: its --serve list, or its mode's default. */
export function servesOf(spec: Pick<ServerSpec, 'mode' | 'serve'>): readonly Serve[] {
  return spec.serve ?? MODE_POLICY[spec.mode].serveDefault;
}

/** The TLS material of a spec, read once at start-up. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK.has(address) || /^127\.\d+\.\d+\.\d+$/.test(address);
}

function usage(why: string): never {
  fail('USAGE', { arg: `web server: ${why}` });
}

/** Options that take no value. */
const FLAGS = new Set(['allow-get-writes']);

/** Values of a repeatable option that may also list several, comma-separated. */
function listed(values: Map<string, string[]>, name: string): string[] {
  const all = (values.get(name) ?? []).flatMap((v) => v.split(',')).filter(Boolean);
  values.delete(name);
  return all;
}

/**
 * Parses `--mode=M --bind=A --port=N --certfile=F --keyfile=F --clientca=F --allowed-origin=O
 * --host-name=NAME --allow-get-writes --serve=LIST` (also with a space instead of `=`), with
 * `defaultMode` when --mode is absent.
 */
export function parseServerArgs(args: readonly string[], defaultMode: Mode): ServerSpec {
  const values = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) usage(`unexpected argument ${JSON.stringify(arg)}`);
    const name = m[1]!;
    if (FLAGS.has(name) && m[2] !== undefined) usage(`--${name} takes no value`);
    const value = FLAGS.has(name) ? '1' : (m[2] ?? args[++i]);
    if (value === undefined) usage(`--${name} needs a value`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const one = (name: string): string | undefined => {
    const v = values.get(name);
    if (v && v.length > 1) usage(`--${name} given twice`);
    values.delete(name);
    return v?.[0];
  };
  const modeText = one('mode') ?? defaultMode;
  if (!isMode(modeText)) usage(`unknown mode ${JSON.stringify(modeText)} (${MODES.join(', ')})`);
  const portText = one('port');
  if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)) usage(`invalid port ${JSON.stringify(portText)}`);
  const spec: ServerSpec = {
    mode: modeText,
    bind: one('bind') ?? '127.0.0.1',
    port: portText === undefined ? undefined : Number(portText),
    certfile: one('certfile'),
    keyfile: one('keyfile'),
    clientca: one('clientca'),
    serve: parseServe(one('serve')),
    allowedOrigins: listed(values, 'allowed-origin'),
    hostNames: listed(values, 'host-name').map((n) => n.toLowerCase()),
    getWrites: values.has('allow-get-writes'),
  };
  values.delete('allow-get-writes');
  for (const name of values.keys()) usage(`unknown option --${name}`);
  return spec;
}

function parseServe(text: string | undefined): Serve[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').filter(Boolean);
  if (list.length === 0) usage(`--serve needs at least one of ${SERVES.join(', ')}`);
  for (const item of list) if (!isServe(item)) usage(`--serve: unknown ${JSON.stringify(item)} (${SERVES.join(', ')})`);
  return [...new Set(list as Serve[])];
}

/** `web server …; web server …` as in `start --commands` and `web.commands`. */
export function parseCommands(text: string): ServerSpec[] {
  return text
    .split(';')
    .map((c) => c.trim())
    .filter(Boolean)
    .map((command) => {
      const words = command.split(/\s+/);
      if (words[0] !== 'web' || words[1] !== 'server') usage(`unknown command ${JSON.stringify(command)}`);
      return parseServerArgs(words.slice(2), 'server');
    });
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

function readable(spec: ServerSpec, option: 'certfile' | 'keyfile' | 'clientca', why: string): Buffer {
  const path = spec[option];
  if (path === undefined) usage(`${spec.mode} mode needs --${option} (${why})`);
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return usage(`cannot read --${option} ${path}: ${READ_ERRORS[code] ?? code}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The PEM certificates in `pem`; a USAGE error if there is none or one does not parse. */
function certificates(pem: Buffer, option: string, path: string | undefined): void {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) usage(`--${option} ${path} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      usage(`--${option} ${path} holds a certificate that cannot be parsed`);
    }
  }
}

/**
 * Reads and checks the TLS files now, so that a wrong file is a start-up error naming it rather
 * than a server that fails every handshake.
 */
function tlsMaterial(spec: ServerSpec, clientCerts: boolean): TlsMaterial {
  const cert = readable(spec, 'certfile', 'its HTTPS certificate, PEM');
  const key = readable(spec, 'keyfile', 'the private key of --certfile, PEM');
  certificates(cert, 'certfile', spec.certfile);
  try {
    createPrivateKey(key);
  } catch {
    usage(`--keyfile ${spec.keyfile} holds no usable private key (PEM, not encrypted)`);
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    usage(`--keyfile ${spec.keyfile} is not the private key of the certificate in --certfile ${spec.certfile}`);
  }
  if (!clientCerts) return { cert, key };
  const ca = readable(spec, 'clientca', 'the CA certificate that signs client certificates, PEM');
  certificates(ca, 'clientca', spec.clientca);
  return { cert, key, ca };
}

/** Checks the spec's combination and reads its TLS files; throws a USAGE error naming the problem. */
export function checkSpec(spec: ServerSpec): TlsMaterial | undefined {
  const policy = MODE_POLICY[spec.mode];
  if (isIP(spec.bind) === 0 && spec.bind !== 'localhost') usage(`--bind must be an IP address, not ${JSON.stringify(spec.bind)}`);
  // Metrics ask for the API's credentials, which plain HTTP on a network would carry in the clear.
  if (!policy.api && servesOf(spec).some((s) => s === 'api' || s === 'metrics')) {
    usage(`${spec.mode} mode never serves the REST API or metrics over plain HTTP on a network: --serve=sync,direct (or server mode for the API)`);
  }
  if (policy.loopbackOnly && !isLoopbackAddress(spec.bind)) {
    usage(`${spec.mode} mode can only bind to a loopback address (127.0.0.1 or ::1), not ${spec.bind}`);
  }
  for (const origin of spec.allowedOrigins) {
    if (origin === '*' && spec.mode !== 'dev') usage('--allowed-origin=* is only for dev mode (it lets any web page use the API)');
    if (origin !== 'null' && origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      usage(`--allowed-origin must be scheme://host[:port], null or (dev mode) *, not ${JSON.stringify(origin)}`);
    }
  }
  for (const name of spec.hostNames ?? []) {
    if (!HOST_NAME_RE.test(name)) usage(`--host-name must be a DNS name, *.domain or *, not ${JSON.stringify(name)}`);
  }
  if (!policy.tls) {
    for (const option of ['certfile', 'keyfile', 'clientca'] as const) {
      if (spec[option] !== undefined) usage(`--${option} has no use in ${spec.mode} mode (plain HTTP)`);
    }
    return undefined;
  }
  if (!policy.clientCerts && spec.clientca !== undefined) usage('--clientca is only for mtls mode');
  return tlsMaterial(spec, policy.clientCerts);
}

/** The URL a server listens on. */
export function serverUrl(spec: ServerSpec, port: number, tls: boolean): string {
  const host = spec.bind.includes(':') ? `[${spec.bind}]` : spec.bind;
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}
