/**
 * API tokens: high-entropy bearer secrets for REST clients, beside the Basic users. The node keeps
 * only their SHA-256; a token is shown once, when it is made. Every web server attached to the
 * node asks the node, so a new or revoked token takes effect everywhere at once.
 */

export interface TokenInfo {
  /** Public identifier, for listing and revoking; not a secret. */
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  /** undefined: never expires. */
  readonly expiresAt: number | undefined;
  /** A read-only token may only use routes that change nothing (403 otherwise). */
  readonly readOnly: boolean;
}

export interface NewToken {
  readonly name?: string;
  readonly expiresInMs?: number;
  readonly readOnly?: boolean;
}

export interface TokenService {
  /** Makes a token; the returned secret is never stored and cannot be shown again. */
  generate(options: NewToken): Promise<{ readonly token: string; readonly info: TokenInfo }>;
  list(): readonly TokenInfo[];
  /** Removes a token at once (404 if unknown). */
  revoke(id: string): Promise<TokenInfo>;
  /** The token's record if it is known and not expired. */
  check(token: string): TokenInfo | undefined;
  /** Why `check` refused a token, for the log: `unknown or revoked token`, `expired token ID`. */
  explain(token: string): string;
}
