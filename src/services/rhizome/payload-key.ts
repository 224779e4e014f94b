/**
 * The key of an encrypted payload (spec §7.8): from the sender/recipient pair when the manifest
 * names a recipient, else from the bundle secret. Undefined when this node cannot derive it
 * (payload status CRYPTO_FAIL, HTTP 419).
 */
import { bundleIdToSid } from '../../crypto/bundle-keys.js';
import { payloadKeyFromPair, payloadKeyFromSecret } from '../../crypto/payload-cipher.js';
import type { Identity, KeyringService } from '../keyring/types.js';

export interface KeyQuery {
  readonly bid: Buffer;
  readonly sender: Buffer | undefined;
  readonly recipient: Buffer | undefined;
}

export function payloadKey(
  q: KeyQuery,
  keyring: KeyringService,
  secret: Buffer | undefined,
  author: Identity | undefined,
): Buffer | undefined {
  if (q.recipient) {
    const recipient = keyring.find(q.recipient);
    if (recipient) {
      // A recipient without a sender can only assume the bundle's own key sent it.
      const other = q.sender ?? bundleIdToSid(q.bid);
      return other && payloadKeyFromPair(recipient.boxSecret, other);
    }
    const sender = q.sender ? keyring.find(q.sender) : undefined;
    if (sender) return payloadKeyFromPair(sender.boxSecret, q.recipient);
    if (secret && author) return payloadKeyFromPair(author.boxSecret, q.recipient);
    return undefined;
  }
  return secret && payloadKeyFromSecret(secret, q.bid);
}
