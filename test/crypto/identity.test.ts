// Combined identities against the reference's keys (vectors/identities.json, spec §7.1).
// node:test schedules suites and tests itself; `void` marks their promises as deliberately not awaited.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  SID_ANY,
  SID_BROADCAST,
  deriveIdentityKeys,
  newIdentitySeed,
  parseSid,
  signingKeyToSid,
} from '../../src/crypto/identity.js';
import { toHex } from '../../src/formats/hex.js';
import { VECTORS } from '../helpers/vectors.js';

interface VectorIdentity {
  label: string;
  sid: string;
  sid_secret_curve25519: string;
  identity: string;
  signing_seed: string;
  signing_secret_key_64: string;
}

const vectors = (
  JSON.parse(readFileSync(VECTORS.file('identities.json'), 'utf8')) as { identities: VectorIdentity[] }
).identities;

void describe('deriveIdentityKeys', () => {
  void it('has vectors to check', () => assert.equal(vectors.length, 4));

  for (const v of vectors) {
    void it(`derives ${v.label}'s keys from the seed`, () => {
      const keys = deriveIdentityKeys(Buffer.from(v.signing_seed, 'hex'));
      assert.equal(toHex(keys.seed), v.signing_seed);
      assert.equal(toHex(keys.signingPublic), v.identity);
      assert.equal(toHex(keys.signingSecret), v.signing_secret_key_64);
      assert.equal(toHex(keys.boxSecret), v.sid_secret_curve25519);
      assert.equal(toHex(keys.sid), v.sid);
    });

    void it(`maps ${v.label}'s Signing ID to the SID (Edwards to Montgomery)`, () => {
      assert.equal(toHex(signingKeyToSid(Buffer.from(v.identity, 'hex'))!), v.sid);
    });
  }

  void it('copies the seed and rejects a seed of the wrong size', () => {
    const seed = newIdentitySeed();
    const keys = deriveIdentityKeys(seed);
    seed.fill(0);
    assert.notDeepEqual(keys.seed, seed);
    assert.throws(() => deriveIdentityKeys(Buffer.alloc(31)), RangeError);
  });

  void it('makes a fresh random seed each time', () => {
    const a = newIdentitySeed();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, newIdentitySeed());
  });
});

void describe('signingKeyToSid', () => {
  void it('returns undefined for points libsodium rejects, instead of throwing', () => {
    assert.equal(signingKeyToSid(Buffer.alloc(32)), undefined); // small order
    const identity = Buffer.alloc(32);
    identity[0] = 1; // the neutral element, also small order
    assert.equal(signingKeyToSid(identity), undefined);
    assert.equal(signingKeyToSid(Buffer.alloc(31)), undefined);
  });
});

void describe('parseSid', () => {
  const sid = vectors[0]!.sid;

  void it('accepts 64 hex digits in either case', () => {
    assert.equal(toHex(parseSid(sid)!), sid);
    assert.equal(toHex(parseSid(sid.toLowerCase())!), sid);
  });

  void it('rejects any other length or non-hex', () => {
    assert.equal(parseSid(sid.slice(0, 63)), undefined);
    assert.equal(parseSid(`${sid}0`), undefined);
    assert.equal(parseSid(`${sid.slice(0, 63)}G`), undefined);
    assert.equal(parseSid(''), undefined);
  });

  void it('accepts the literal broadcast, lowercase only, and hands out a copy', () => {
    const parsed = parseSid('broadcast')!;
    assert.deepEqual(parsed, SID_BROADCAST);
    parsed.fill(0);
    assert.equal(toHex(SID_BROADCAST), 'FF'.repeat(32));
    assert.equal(parseSid('BROADCAST'), undefined);
  });

  void it('parses the all-zero and all-FF SIDs', () => {
    assert.deepEqual(parseSid('00'.repeat(32)), SID_ANY);
    assert.deepEqual(parseSid('ff'.repeat(32)), SID_BROADCAST);
  });
});
