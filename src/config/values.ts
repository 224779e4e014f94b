/**
 * Parsers for configuration value syntaxes, as the reference's config schema defines them
 * (spec §1.1): booleans, ports, time intervals with unit suffixes and scaled byte counts.
 * Each returns the parsed value or throws a plain Error whose message says what was expected;
 * the caller names the key.
 */

// A Map, not an object literal: `BOOLEANS[text]` would find `constructor`, `toString` and the
// other names of Object.prototype, and take them for true.
const BOOLEANS: ReadonlyMap<string, boolean> = new Map(Object.entries({
  '1': true,
  true: true,
  yes: true,
  on: true,
  '0': false,
  false: false,
  no: false,
  off: false,
}));

export function parseBoolean(text: string): boolean {
  const value = BOOLEANS.get(text.trim().toLowerCase());
  if (value === undefined) throw new Error('expected a boolean (1, 0, true, false, yes, no, on, off)');
  return value;
}

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text.trim())) throw new Error('expected a port number from 0 to 65535');
  const n = Number(text.trim());
  if (n > 65535) throw new Error('expected a port number from 0 to 65535');
  return n;
}

const INTERVAL_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Decimal seconds with an optional unit s, m, h, d or w; fractions allowed. Returns milliseconds,
 * rounded half up. Computed in decimal, not in floating point, so that the milliseconds written
 * back as decimal seconds parse to the same milliseconds whatever their size.
 */
export function parseInterval(text: string): number {
  const m = /^(\d*)(?:\.(\d*))?([smhdw]?)$/.exec(text.trim());
  const unit = m ? INTERVAL_UNITS[m[3]!] : undefined;
  if (!m || unit === undefined || (m[1] === '' && !m[2])) throw new Error('expected a time interval such as 60, 1.5, 30s, 2m, 1h');
  const fraction = m[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const thousandths = (BigInt(m[1] || '0') * scale + BigInt(fraction || '0')) * BigInt(unit) * 1000n;
  const ms = (2n * thousandths + scale) / (2n * scale);
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('time interval too large');
  return Number(ms);
}

const SCALES: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  K: 1024n,
  m: 1000n ** 2n,
  M: 1024n ** 2n,
  g: 1000n ** 3n,
  G: 1024n ** 3n,
  t: 1000n ** 4n,
  T: 1024n ** 4n,
  p: 1000n ** 5n,
  P: 1024n ** 5n,
};

const UINT64_MAX = 2n ** 64n - 1n;

/** A decimal count with an optional scale suffix: k=10³, K=2¹⁰, m/M, g/G, t/T, p/P. */
export function parseScaled(text: string, max: bigint = UINT64_MAX): bigint {
  const m = /^(\d+)([kKmMgGtTpP]?)$/.exec(text.trim());
  if (!m) throw new Error('expected a byte count such as 1000, 64k, 100M, 2G');
  const value = BigInt(m[1]!) * SCALES[m[2]!]!;
  if (value > max) throw new Error(`byte count larger than ${max}`);
  return value;
}

export function parseUint(text: string, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > max) throw new Error(`expected a whole number from 0 to ${max}`);
  return Number(text);
}

export function parseChoice<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    const lower = text.trim().toLowerCase();
    const found = choices.find((c) => c === lower);
    if (found === undefined) throw new Error(`expected one of: ${choices.join(', ')}`);
    return found;
  };
}

/**
 * A PostgreSQL URL (postgres:// or postgresql://) without a password: the password stays out of
 * tendril.conf, `config list` and every log, and comes from PGPASSWORD or a password file, as
 * libpq reads it. Returns the URL as given.
 */
export function parseDatabaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error('expected a URL such as postgres://tendril@localhost/tendril');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('expected a postgres:// URL');
  if (url.password !== '' || url.searchParams.has('password')) {
    throw new Error('a password does not belong in the URL: set PGPASSWORD or use a password file (PGPASSFILE, ~/.pgpass)');
  }
  if (url.hostname === '' && !url.searchParams.has('host')) throw new Error('the URL names no host (postgres://USER@HOST/DATABASE)');
  if (url.pathname.length <= 1) throw new Error('the URL names no database (postgres://USER@HOST/DATABASE)');
  return text.trim();
}
