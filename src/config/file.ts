/**
 * The config file: one `key=value` per line, `#` comments, as the reference's serval.conf. Writes
 * are atomic and keep the keys sorted so the file diffs well.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { buildConfig, validateEntry } from './config.js';

export function parseConfigText(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) fail('CONFIG_FILE_MALFORMED', { arg: `line ${index + 1}: expected key=value` });
    const key = line.slice(0, eq).trim();
    if (entries.has(key)) fail('CONFIG_FILE_MALFORMED', { arg: `line ${index + 1}: duplicate key ${key}` });
    entries.set(key, raw.slice(raw.indexOf('=') + 1));
  });
  return entries;
}

export function formatConfigText(entries: ReadonlyMap<string, string>): string {
  const keys = [...entries.keys()].sort();
  return keys.map((k) => `${k}=${entries.get(k)!}\n`).join('');
}

/** Reads the config file; a missing file is an empty config. */
export function readConfigFile(path: string): Map<string, string> {
  if (!existsSync(path)) return new Map();
  return parseConfigText(readFileSync(path, 'utf8'));
}

/**
 * Sets or (with value undefined) deletes one key, validating it and then the whole resulting
 * configuration first (at most 10 users, for one), and rewrites the file.
 */
export function updateConfigFile(path: string, key: string, value: string | undefined): Map<string, string> {
  const entries = readConfigFile(path);
  if (value === undefined) {
    entries.delete(key);
  } else {
    if (/[\r\n]/.test(value)) fail('CONFIG_INVALID_VALUE', { arg: `${key}: a value cannot span lines` });
    validateEntry(key, value);
    entries.set(key, value);
  }
  buildConfig(entries);
  writeFileAtomic(path, formatConfigText(entries), 0o600);
  return entries;
}
