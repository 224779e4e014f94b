/**
 * Between the keypair lists stored in keyring slots (and reference dumps) and Identity objects.
 * Type numbers are the reference's keyring entry types (spec §7.1).
 */
import { deriveIdentityKeys } from '../../crypto/identity.js';
import { fail } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { combinedFromDump, KEY_TYPE, keyTypeName, type DumpIdentity, type DumpKeypair } from '../../formats/keyring-dump.js';
import type { StoredKeypair } from '../../store/keyring-file.js';
import type { Identity } from './types.js';

const text = new TextDecoder('utf-8', { fatal: false });

/** The reference stores DID and Name NUL-terminated in fixed fields; only what precedes a NUL counts. */
function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return text.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

export function identityFromKeypairs(keypairs: readonly StoredKeypair[]): Identity {
  const combined = keypairs.find((kp) => kp.type === KEY_TYPE.CRYPTOCOMBINED);
  const rhizome = keypairs.find((kp) => kp.type === KEY_TYPE.RHIZOME);
  if (!combined || combined.sec.length !== 32) fail('KEYRING_UNSUPPORTED_KEY', { arg: 'identity without a combined key' });
  if (!rhizome) fail('KEYRING_UNSUPPORTED_KEY', { arg: 'identity without a Rhizome Secret' });
  const keys = deriveIdentityKeys(combined.sec);
  const didName = keypairs.find((kp) => kp.type === KEY_TYPE.DID);
  return Object.freeze({
    sid: keys.sid,
    sidHex: toHex(keys.sid),
    signingId: keys.signingPublic,
    signingIdHex: toHex(keys.signingPublic),
    signingSecret: keys.signingSecret,
    boxSecret: keys.boxSecret,
    rhizomeSecret: rhizome.sec,
    did: didName ? cString(didName.sec) : undefined,
    name: didName ? cString(didName.pub) : undefined,
  });
}

/** A dumped identity as stored keypairs; throws the dump catalogue errors for bad entries. */
export function fromDumpIdentity(id: DumpIdentity): StoredKeypair[] {
  const out: StoredKeypair[] = [];
  for (const kp of id.keypairs) {
    switch (kp.type) {
      case KEY_TYPE.CRYPTOCOMBINED:
        out.push({ type: kp.type, pub: Buffer.alloc(0), sec: combinedFromDump(kp).seed });
        break;
      case KEY_TYPE.RHIZOME:
        if (!kp.sec || kp.sec.length < 16 || kp.sec.length > 1024) {
          fail('KEYRING_DUMP_MALFORMED', { arg: 'RHIZOME secret must be 16 to 1024 bytes' });
        }
        out.push({ type: kp.type, pub: Buffer.alloc(0), sec: kp.sec });
        break;
      case KEY_TYPE.DID:
        out.push({ type: kp.type, pub: kp.name ?? Buffer.alloc(0), sec: kp.did ?? Buffer.alloc(0) });
        break;
      case KEY_TYPE.CRYPTOBOX:
      case KEY_TYPE.CRYPTOSIGN:
        fail('KEYRING_UNSUPPORTED_KEY', { arg: `legacy ${keyTypeName(kp.type)} keys` });
        break;
      default:
        out.push({ type: kp.type, pub: kp.pub ?? Buffer.alloc(0), sec: kp.sec ?? Buffer.alloc(0) });
    }
  }
  identityFromKeypairs(out);
  return out;
}

/** Stored keypairs as the reference would dump them, secrets included (the formatter may omit them). */
export function toDumpIdentity(keypairs: readonly StoredKeypair[]): DumpIdentity {
  const dumped: DumpKeypair[] = keypairs.map((kp) => {
    const typeName = keyTypeName(kp.type) ?? 'unknown';
    switch (kp.type) {
      case KEY_TYPE.CRYPTOCOMBINED: {
        const keys = deriveIdentityKeys(kp.sec);
        return {
          type: kp.type,
          typeName,
          pub: Buffer.concat([keys.signingPublic, keys.sid]),
          sec: Buffer.concat([keys.signingSecret, keys.boxSecret]),
        };
      }
      case KEY_TYPE.DID:
        return { type: kp.type, typeName, did: kp.sec, name: kp.pub };
      default:
        return {
          type: kp.type,
          typeName,
          ...(kp.pub.length ? { pub: kp.pub } : {}),
          ...(kp.sec.length ? { sec: kp.sec } : {}),
        };
    }
  });
  return { keypairs: dumped };
}
