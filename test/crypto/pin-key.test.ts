// The keyring PIN KDF (Argon2id via crypto_pwhash_async), at the cheapest cost so the suite is fast.
// node:test schedules suites and tests itself; `void` marks their promises as deliberately not awaited.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sodium } from '../../src/crypto/sodium.js';
import { PIN_SALT_BYTES, TEST_PIN_KEY_PARAMS, derivePinKey } from '../../src/crypto/pin-key.js';

const salt = Buffer.alloc(PIN_SALT_BYTES, 7);

void describe('derivePinKey', () => {
  void it('returns a promise of 32 bytes', async () => {
    const pending = derivePinKey('1234', salt, TEST_PIN_KEY_PARAMS);
    assert.ok(pending instanceof Promise);
    const key = await pending;
    assert.ok(Buffer.isBuffer(key));
    assert.equal(key.length, 32);
  });

  void it('is deterministic for the same PIN, salt and cost', async () => {
    const a = await derivePinKey('wif waf', salt, TEST_PIN_KEY_PARAMS);
    const b = await derivePinKey('wif waf', salt, TEST_PIN_KEY_PARAMS);
    assert.deepEqual(a, b);
  });

  void it('differs for a different PIN, salt or cost', async () => {
    const base = await derivePinKey('1234', salt, TEST_PIN_KEY_PARAMS);
    assert.notDeepEqual(await derivePinKey('1235', salt, TEST_PIN_KEY_PARAMS), base);
    assert.notDeepEqual(await derivePinKey('1234', Buffer.alloc(PIN_SALT_BYTES, 8), TEST_PIN_KEY_PARAMS), base);
    const costlier = { ...TEST_PIN_KEY_PARAMS, opsLimit: TEST_PIN_KEY_PARAMS.opsLimit + 1 };
    assert.notDeepEqual(await derivePinKey('1234', salt, costlier), base);
  });

  void it('hashes the UTF-8 bytes of the PIN with Argon2id', async () => {
    const pin = 'Ünï ✓';
    const expected = Buffer.alloc(32);
    const { opsLimit, memLimit } = TEST_PIN_KEY_PARAMS;
    const argon2id = sodium.crypto_pwhash_ALG_ARGON2ID13;
    sodium.crypto_pwhash(expected, Buffer.from(pin, 'utf8'), salt, opsLimit, memLimit, argon2id);
    assert.deepEqual(await derivePinKey(pin, salt, TEST_PIN_KEY_PARAMS), expected);
  });

  void it('rejects a salt of the wrong size', async () => {
    await assert.rejects(derivePinKey('1234', Buffer.alloc(8), TEST_PIN_KEY_PARAMS), RangeError);
  });
});
