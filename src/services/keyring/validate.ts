/**
 * DID and Name rules (spec §7.2). The reference's code accepts `+` in a DID although its
 * documentation omits it (spec §9.2 #12); the code is what clients meet, so `+` is allowed.
 */
import { fail } from '../../errors.js';

const DID_RE = /^[0-9*#+]{5,31}$/;
export const MAX_NAME_BYTES = 63;

/** Throws 400 "Invalid DID" unless `did` is empty or 5 to 31 of 0-9 * # +. */
export function checkDid(did: string): void {
  if (did !== '' && !DID_RE.test(did)) fail('KEYRING_INVALID_DID');
}

/** Throws 400 "Invalid Name" unless `name` is empty or 1 to 63 bytes with no NUL. */
export function checkName(name: string): void {
  if (name !== '' && (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES || name.includes('\0'))) {
    fail('KEYRING_INVALID_NAME');
  }
}
