/**
 * A cluster's API tokens in the shared database (TokenStorage, ../token-storage.ts): one row of
 * api_tokens per token, holding its SHA-256 as tokens.json does. Every change ends with a NOTIFY
 * on which each node reads the tokens again, so a token revoked through one node is refused by
 * all of them as soon as they hear it (and, after a lost connection, as soon as LISTEN is back).
 */
import type { StoredToken, TokenStorage } from '../token-storage.js';
import { watchChannel, type Database } from './database.js';
import { pg } from './errors.js';

const CHANNEL = 'tendril_tokens';

interface Row {
  readonly id: string;
  readonly name: string;
  readonly created_at: bigint;
  readonly expires_at: bigint | null;
  readonly read_only: boolean;
  readonly hash: string;
}

export function databaseTokenStorage(db: Database): TokenStorage {
  const load = (): Promise<StoredToken[]> =>
    pg(async () =>
      (await db.sql<Row[]>`SELECT id, name, created_at, expires_at, read_only, hash FROM api_tokens ORDER BY created_at, id`).map((r) => ({
        id: r.id,
        name: r.name,
        createdAt: Number(r.created_at),
        expiresAt: r.expires_at === null ? undefined : Number(r.expires_at),
        readOnly: r.read_only,
        hash: r.hash,
      })),
    );
  return {
    load,
    add: (t) =>
      pg(async () => {
        await db.sql.begin(async (tx) => {
          await tx`
            INSERT INTO api_tokens (id, name, created_at, expires_at, read_only, hash)
            VALUES (${t.id}, ${t.name}, ${t.createdAt}, ${t.expiresAt ?? null}, ${t.readOnly}, ${t.hash})`;
          await tx`SELECT pg_notify(${CHANNEL}, '')`;
        });
      }),
    remove: (id) =>
      pg(async () => {
        await db.sql.begin(async (tx) => {
          await tx`DELETE FROM api_tokens WHERE id = ${id}`;
          await tx`SELECT pg_notify(${CHANNEL}, '')`;
        });
      }),
    watch: (changed) => watchChannel(db, CHANNEL, changed),
  };
}
