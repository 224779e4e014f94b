/**
 * MeshMB tokens (spec §7.14.3, §7.14.4): base64url with `=` padding of uleb values. A message
 * list token holds a record offset in a feed; an activity token holds the end offsets of the
 * activity-journal ACK and of the message it led to.
 */
import { decodeBase64Url, encodeBase64Url } from '../../formats/base64url.js';
import { decodeUleb, encodeUleb } from '../../formats/leb128.js';
import type { ActivityPosition } from './types.js';

/** The reference decodes tokens into a 12-byte buffer; a longer one does not parse. */
const MAX_TOKEN_BYTES = 12;

function decodeUlebs(token: string, count: number): number[] | undefined {
  const bytes = decodeBase64Url(token);
  if (!bytes || bytes.length > MAX_TOKEN_BYTES) return undefined;
  const values: number[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const value = decodeUleb(bytes, at);
    if (!value) return undefined;
    // Offsets beyond 2^53 name no record a feed can hold; clamped, they compare the same (and stay
    // exact integers, which a plain Number() of the bigint would not).
    values.push(value.value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value.value));
    at = value.next;
  }
  return values;
}

export function encodePositionToken(offset: number): string {
  return encodeBase64Url(encodeUleb(offset));
}

/** The offset in a message list token, or undefined if it does not parse (the path is then 404). */
export function decodePositionToken(token: string): number | undefined {
  return decodeUlebs(token, 1)?.[0];
}

export function encodeActivityToken(position: ActivityPosition): string {
  return encodeBase64Url(Buffer.concat([encodeUleb(position.ack), encodeUleb(position.msg)]));
}

/** The position in an activity token, or undefined if it does not parse (the path is then 404). */
export function decodeActivityToken(token: string): ActivityPosition | undefined {
  const values = decodeUlebs(token, 2);
  return values && { ack: values[0]!, msg: values[1]! };
}
