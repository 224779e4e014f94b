/**
 * The token store: `INSTANCE/tokens.json`, holding each token's SHA-256 and its record, replaced
 * atomically on every change. A token is `tdk1_` followed by 32 random bytes in base64url, so
 * SHA-256 alone is enough at rest (no salt or slow hash is needed for a secret that carries 256
 * bits of entropy). A presented token's digest is compared with every stored one in constant
 * time, as Basic credentials are, so the time taken says nothing about which tokens exist.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from '../../crypto/sodium.js';
import { fail } from '../../errors.js';
import { encodeBase64Url } from '../../formats/base64url.js';
import type { Logger } from '../../log.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import type { NewToken, TokenInfo, TokenService } from './types.js';

const PREFIX = 'tdk1_';
const MAX_NAME = 64;
/** A hundred years: longer is "never", which is what no --expires says. */
const MAX_LIFETIME_MS = 100 * 365.25 * 86_400_000;

interface StoredToken extends TokenInfo {
  /** SHA-256 of the token, hex. */
  readonly hash: string;
}

interface TokenFile {
  readonly version: 1;
  readonly tokens: StoredToken[];
}

const digestOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

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

/** The stored digests as bytes; a record whose hash is not 64 hex digits matches nothing. */
function digestsOf(tokens: readonly StoredToken[]): Array<readonly [Buffer, StoredToken]> {
  return tokens.filter((t) => /^[0-9a-f]{64}$/.test(t.hash)).map((t) => [Buffer.from(t.hash, 'hex'), t] as const);
}

class FileTokens implements TokenService {
  private tokens: StoredToken[];
  private digests: Array<readonly [Buffer, StoredToken]>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.tokens = readTokenFile(path);
    this.digests = digestsOf(this.tokens);
  }

  private exclusive<T>(fn: () => T): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private save(tokens: StoredToken[]): void {
    const file: TokenFile = { version: 1, tokens };
    try {
      writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
    } catch (err) {
      // A full disk, typically. The tokens in effect stay as they were, in memory and on disk.
      this.log.error({ err }, 'token file write failed');
      fail('TOKENS_STORE_FAILED', { cause: err });
    }
    this.tokens = tokens;
    this.digests = digestsOf(tokens);
  }

  generate(options: NewToken): Promise<{ token: string; info: TokenInfo }> {
    return this.exclusive(() => {
      const name = options.name ?? '';
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
      if (name.length > MAX_NAME || /[\0-\x1f\x7f]/.test(name)) fail('TOKENS_INVALID_NAME');
      const lifetime = options.expiresInMs;
      if (lifetime !== undefined && !(lifetime > 0 && lifetime <= MAX_LIFETIME_MS)) fail('TOKENS_INVALID_EXPIRY');
      const token = PREFIX + encodeBase64Url(randomBytes(32)).replace(/=+$/, '');
      const createdAt = this.now();
      const stored: StoredToken = {
        id: randomBytes(6).toString('hex'),
        name,
        createdAt,
        expiresAt: options.expiresInMs === undefined ? undefined : createdAt + options.expiresInMs,
        readOnly: options.readOnly === true,
        hash: digestOf(token).toString('hex'),
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
    const found = this.find(token);
    if (!found || (found.expiresAt !== undefined && found.expiresAt <= this.now())) return undefined;
    return found;
  }

  explain(token: string): string {
    if (!token.startsWith(PREFIX)) return 'not a Tendril token';
    const found = this.find(token);
    return found ? `expired token ${found.id}` : 'unknown or revoked token';
  }

  private find(token: string): StoredToken | undefined {
    // The prefix is public: anything else is no token of ours.
    if (!token.startsWith(PREFIX)) return undefined;
    const presented = digestOf(token);
    let found: StoredToken | undefined;
    for (const [digest, stored] of this.digests) if (timingSafeEqual(presented, digest)) found = stored;
    return found;
  }
}

export function openTokens(options: { path: string; log: Logger; now?: () => number }): TokenService {
  return new FileTokens(options.path, options.log, options.now ?? Date.now);
}
