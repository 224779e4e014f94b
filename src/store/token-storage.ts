/**
 * Where API tokens are kept: `INSTANCE/tokens.json` (one node), or a cluster's shared database
 * (src/store/postgres/tokens.ts). Either way only each token's SHA-256 is stored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';

/** A token as stored: its public record and the SHA-256 of its secret (hex). */
export interface StoredToken {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  /** undefined: never expires. */
  readonly expiresAt: number | undefined;
  readonly readOnly: boolean;
  readonly hash: string;
}

export interface TokenStorage {
  load(): Promise<StoredToken[]>;
  /** Makes the change durable; throws (and stores nothing) when it cannot. */
  add(token: StoredToken, all: readonly StoredToken[]): Promise<void>;
  remove(id: string, all: readonly StoredToken[]): Promise<void>;
  /**
   * Calls `changed` whenever another node may have changed the tokens (never for a file only this
   * process writes); the service then load()s them again. Returns the stop.
   */
  watch(changed: () => void): Promise<() => Promise<void>>;
}

interface TokenFile {
  readonly version: 1;
  readonly tokens: StoredToken[];
}

function readTokenFile(path: string): StoredToken[] {
  if (!existsSync(path)) return [];
  let parsed: TokenFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as TokenFile;
  } catch (err) {
    fail('TOKENS_FILE_CORRUPT', { cause: err });
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.tokens)) fail('TOKENS_FILE_CORRUPT');
  return parsed.tokens;
}

/** tokens.json, replaced atomically (mode 0600) on every change. */
export function fileTokenStorage(path: string): TokenStorage {
  const write = (tokens: readonly StoredToken[]): void => {
    const file: TokenFile = { version: 1, tokens: [...tokens] };
    writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  };
  /* eslint-disable @typescript-eslint/require-await -- a local file answers at once */
  return {
    load: async () => readTokenFile(path),
    add: async (_token, all) => write(all),
    remove: async (_id, all) => write(all),
    watch: async () => async () => undefined,
  };
  /* eslint-enable @typescript-eslint/require-await */
}
