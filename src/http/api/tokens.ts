/**
 * Token management, served on the control socket only: making a token shows its secret once;
 * listing shows records, never secrets; revoking takes effect at once.
 */
import { LIFETIME_FORMAT, parseTokenLifetime } from '../../services/tokens/lifetime.js';
import { fail, type JsonValue } from '../../errors.js';
import type { TokenInfo, TokenService } from '../../services/tokens/types.js';
import { jsonResult, type Handler } from '../types.js';

function tokenJson(t: TokenInfo): JsonValue {
  return { id: t.id, name: t.name, created_at: t.createdAt, expires_at: t.expiresAt ?? null, read_only: t.readOnly };
}

export interface TokenHandlers {
  readonly generate: Handler;
  readonly list: Handler;
  readonly revoke: Handler;
}

export function tokenHandlers(tokens: TokenService): TokenHandlers {
  return {
    async generate(ctx) {
      const expires = ctx.queryValue('expires');
      const expiresInMs = expires === undefined ? undefined : parseTokenLifetime(expires);
      if (expires !== undefined && expiresInMs === undefined) fail('TOKENS_INVALID_EXPIRY', { reason: `Invalid token expiry: expected ${LIFETIME_FORMAT}` });
      const readOnly = ctx.queryValue('read_only');
      const made = await tokens.generate({ name: ctx.queryValue('name'), expiresInMs, readOnly: readOnly === '1' || readOnly === 'true' });
      return jsonResult(201, 'Token generated', [
        ['token', made.token],
        ['info', tokenJson(made.info)],
      ]);
    },
    list() {
      return { kind: 'table', columns: ['id', 'name', 'created_at', 'expires_at', 'read_only'], rows: tokens.list().map((t) => {
        const j = tokenJson(t) as Record<string, JsonValue>;
        return [j.id!, j.name!, j.created_at!, j.expires_at!, j.read_only!];
      }) };
    },
    async revoke(ctx) {
      const info = await tokens.revoke(ctx.params.id!);
      return jsonResult(200, 'Token revoked', [['info', tokenJson(info)]]);
    },
  };
}
