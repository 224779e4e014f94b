/**
 * The token service. A token is `tdk1_` followed by 32 random bytes in base64url, so SHA-256 alone
 * is enough at rest (no salt or slow hash is needed for a secret that carries 256 bits of entropy);
 * the storage (tokens.json, or a cluster's database: src/store/token-storage.ts) holds only that
 * digest and the token's record. A presented token's digest is compared with every stored one in
 * constant time, as Basic credentials are, so the time taken says nothing about which tokens
 * exist. The tokens in effect are held in memory (checked on every request) and read again when
 * another node of a cluster changes them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBytes } from '../../crypto/sodium.js';
import { fail, isTendrilError } from '../../errors.js';
import { encodeBase64Url } from '../../formats/base64url.js';
import type { Logger } from '../../log.js';
import { fileTokenStorage, type StoredToken, type TokenStorage } from '../../store/token-storage.js';
import type { NewToken, TokenInfo, TokenService } from './types.js';

const PREFIX = 'tdk1_';
const MAX_NAME = 64;
/** A hundred years: longer is "never", which is what no --expires says. */
const MAX_LIFETIME_MS = 100 * 365.25 * 86_400_000;

const digestOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

function publicInfo(t: StoredToken): TokenInfo {
  return { id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, readOnly: t.readOnly };
}

/** The stored digests as bytes; a record whose hash is not 64 hex digits matches nothing. */
function digestsOf(tokens: readonly StoredToken[]): Array<readonly [Buffer, StoredToken]> {
  return tokens.filter((t) => /^[0-9a-f]{64}$/.test(t.hash)).map((t) => [Buffer.from(t.hash, 'hex'), t] as const);
}

class Tokens implements TokenService {
  private tokens: StoredToken[];
  private digests: Array<readonly [Buffer, StoredToken]>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: TokenStorage,
    tokens: StoredToken[],
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.tokens = tokens;
    this.digests = digestsOf(tokens);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private replace(tokens: StoredToken[]): void {
    this.tokens = tokens;
    this.digests = digestsOf(tokens);
  }

  /** The stored tokens changed elsewhere: read them again, in turn with this node's changes. */
  reload(): Promise<void> {
    return this.exclusive(async () => this.replace(await this.storage.load()));
  }

  private async save(tokens: StoredToken[], change: (all: StoredToken[]) => Promise<void>): Promise<void> {
    try {
      await change(tokens);
    } catch (err) {
      // A database that cannot be reached is 503 as such: tokens will work again.
      if (isTendrilError(err) && err.code === 'DATABASE_UNAVAILABLE') throw err;
      // A full disk, typically. The tokens in effect stay as they were, in memory and on disk.
      this.log.error({ err }, 'token file write failed');
      fail('TOKENS_STORE_FAILED', { cause: err });
    }
    this.replace(tokens);
  }

  generate(options: NewToken): Promise<{ token: string; info: TokenInfo }> {
    return this.exclusive(async () => {
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
      await this.save([...this.tokens, stored], (all) => this.storage.add(stored, all));
      this.log.info({ tokenId: stored.id, readOnly: stored.readOnly }, 'token generated');
      return { token, info: publicInfo(stored) };
    });
  }

  list(): readonly TokenInfo[] {
    return this.tokens.map(publicInfo);
  }

  revoke(id: string): Promise<TokenInfo> {
    return this.exclusive(async () => {
      const found = this.tokens.find((t) => t.id === id);
      if (!found) fail('TOKENS_NOT_FOUND');
      await this.save(
        this.tokens.filter((t) => t !== found),
        (all) => this.storage.remove(id, all),
      );
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

/** A token service that follows changes other nodes make to its storage until stop(). */
export interface OpenTokens extends TokenService {
  stop(): Promise<void>;
}

export interface TokensOptions {
  /** tokens.json, unless `storage` says where tokens live. */
  readonly path?: string;
  readonly storage?: TokenStorage;
  readonly log: Logger;
  readonly now?: () => number;
}

export async function openTokens(options: TokensOptions): Promise<OpenTokens> {
  const storage = options.storage ?? fileTokenStorage(options.path ?? 'tokens.json');
  const tokens = new Tokens(storage, await storage.load(), options.log, options.now ?? Date.now);
  const stop = await storage.watch(() => {
    tokens.reload().catch((err: unknown) => options.log.warn({ err }, 'tokens not reloaded'));
  });
  return Object.assign(tokens, { stop });
}
