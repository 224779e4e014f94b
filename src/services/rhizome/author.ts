/**
 * Who wrote a bundle, and with it its secret (spec §7.6, §7.7): the reference's author
 * deduction, so a bundle made on a Serval node can be edited here by the same identity and the
 * other way round. Only an authentic author yields the Author and Secret headers.
 */
import { isSidOfBundle, recoverBundleSecret } from '../../crypto/bundle-keys.js';
import type { Identity, KeyringService } from '../keyring/types.js';

export type Authorship =
  /** An unlocked identity wrote it; `secret` is the bundle secret (Ed25519 seed). */
  | { readonly kind: 'authentic'; readonly identity: Identity; readonly secret: Buffer }
  /** Self-signed by an identity that is not unlocked here (e.g. someone else's MeshMB feed). */
  | { readonly kind: 'remote'; readonly sender: Buffer }
  /** No unlocked identity wrote it, as far as can be told. */
  | { readonly kind: 'anonymous' }
  /** The recorded or named author is not an unlocked identity. */
  | { readonly kind: 'unknown' }
  /** The named author's Rhizome Secret does not open the BK (or contradicts the known secret). */
  | { readonly kind: 'impostor' };

export interface AuthorQuery {
  readonly bid: Buffer;
  readonly bk: Buffer | undefined;
  readonly sender: Buffer | undefined;
}

export interface AuthorOptions {
  /** Test only this SID (the store's recorded author, or a `bundle-author` part). */
  readonly author?: Buffer;
  /** A secret already known (supplied): an author whose BK yields another one is an impostor. */
  readonly knownSecret?: Buffer;
}

function tryAuthor(q: AuthorQuery, identity: Identity, knownSecret: Buffer | undefined): Authorship {
  if (q.bk) {
    const secret = recoverBundleSecret(q.bk, identity.rhizomeSecret, q.bid);
    if (!secret || (knownSecret && !knownSecret.equals(secret))) return { kind: 'impostor' };
    return { kind: 'authentic', identity, secret };
  }
  // Without a BK only the identity whose signing key is the bundle id can be its author.
  if (q.bid.equals(identity.signingId)) return { kind: 'authentic', identity, secret: identity.signingSecret.subarray(0, 32) };
  return { kind: 'anonymous' };
}

export function deduceAuthor(q: AuthorQuery, keyring: KeyringService, options: AuthorOptions = {}): Authorship {
  if (options.author) {
    const identity = keyring.find(options.author);
    return identity ? tryAuthor(q, identity, options.knownSecret) : { kind: 'unknown' };
  }
  if (q.sender && isSidOfBundle(q.bid, q.sender)) {
    const identity = keyring.findBySigningId(q.bid);
    return identity
      ? { kind: 'authentic', identity, secret: identity.signingSecret.subarray(0, 32) }
      : { kind: 'remote', sender: q.sender };
  }
  // The sender is the likeliest author, so it is tried first; then every unlocked identity.
  const sender = q.sender ? keyring.find(q.sender) : undefined;
  const others = keyring.list().filter((i) => i !== sender);
  for (const identity of sender ? [sender, ...others] : others) {
    const result = tryAuthor(q, identity, options.knownSecret);
    if (result.kind === 'authentic') return result;
  }
  return { kind: 'anonymous' };
}
