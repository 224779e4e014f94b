/**
 * The token store: `INSTANCE/tokens.json`, holding each token's SHA-256 and its record, replaced
 * atomically on every change. A token is `tdk1_` followed by 32 random bytes in base64url, so
 * SHA-256 alone is enough at rest (no salt or slow hash is needed for a secret that carries 256
 * bits of entropy), and looking one up by its hash reveals nothing about other tokens.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from '../../crypto/sodium.js';
import { fail } from '../../errors.js';
import { encodeBase64Url } from '../../formats/base64url.js';
import type { Logger } from '../../log.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import type { NewToken, TokenInfo, TokenService } from './types.js';

const PREFIX = 'tdk1_';
const MAX_NAME = 64;

interface StoredToken extends TokenInfo {
  /** SHA-256 of the token, hex. */
  readonly hash: string;
}

interface TokenFile {
  readonly version: 1;
  readonly tokens: StoredToken[];
}

const hashOf = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

function publicInfo(t: StoredToken): TokenInfo {
  return { id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, readOnly: t.readOnly };
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

class FileTokens implements TokenService {
  private tokens: StoredToken[];
  private byHash: Map<string, StoredToken>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.tokens = readTokenFile(path);
    this.byHash = new Map(this.tokens.map((t) => [t.hash, t]));
  }

  private exclusive<T>(fn: () => T): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private save(tokens: StoredToken[]): void {
    const file: TokenFile = { version: 1, tokens };
    writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
    this.tokens = tokens;
    this.byHash = new Map(tokens.map((t) => [t.hash, t]));
  }

  generate(options: NewToken): Promise<{ token: string; info: TokenInfo }> {
    const name = options.name ?? '';
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (name.length > MAX_NAME || /[\0-\x1f\x7f]/.test(name)) fail('TOKENS_INVALID_NAME');
    if (options.expiresInMs !== undefined && !(options.expiresInMs > 0)) fail('TOKENS_INVALID_EXPIRY');
    return this.exclusive(() => {
      const token = PREFIX + encodeBase64Url(randomBytes(32)).replace(/=+$/, '');
      const createdAt = this.now();
      const stored: StoredToken = {
        id: randomBytes(6).toString('hex'),
        name,
        createdAt,
        expiresAt: options.expiresInMs === undefined ? undefined : createdAt + options.expiresInMs,
        readOnly: options.readOnly === true,
        hash: hashOf(token),
      };
      this.save([...this.tokens, stored]);
      this.log.info({ tokenId: stored.id, readOnly: stored.readOnly }, 'token generated');
      return { token, info: publicInfo(stored) };
    });
  }

  list(): readonly TokenInfo[] {
    return this.tokens.map(publicInfo);
  }

  revoke(id: string): Promise<TokenInfo> {
    return this.exclusive(() => {
      const found = this.tokens.find((t) => t.id === id);
      if (!found) fail('TOKENS_NOT_FOUND');
      this.save(this.tokens.filter((t) => t !== found));
      this.log.info({ tokenId: id }, 'token revoked');
      return publicInfo(found);
    });
  }

  check(token: string): TokenInfo | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const found = this.byHash.get(hashOf(token));
    if (!found || (found.expiresAt !== undefined && found.expiresAt <= this.now())) return undefined;
    return found;
  }
}

export function openTokens(options: { path: string; log: Logger; now?: () => number }): TokenService {
  return new FileTokens(options.path, options.log, options.now ?? Date.now);
}
