// Bundle key material against the reference's bundles and identities (spec §7.4–§7.6, §7.12, §7.13).
// node:test schedules suites and tests itself; `void` marks their promises as deliberately not awaited.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  bundleIdToSid,
  bundleKeyMask,
  bundleKeyPairFromSecret,
  computeBundleKey,
  isBundleSecretOf,
  isSidOfBundle,
  manifestDigest,
  manifestSigner,
  meshmbActivitySeedString,
  meshmbSubscriptionsSeedString,
  meshmsIndexSeedString,
  parseBundleSecret,
  passphraseBundleSecret,
  randomBundleKeyPair,
  recoverBundleSecret,
  seededBundleKeyPair,
  signManifest,
  signatureBlock,
  verifyManifestSignature,
} from '../../src/crypto/bundle-keys.js';
import { toHex } from '../../src/formats/hex.js';
import { parseManifest } from '../../src/formats/manifest.js';
import { VECTORS as VECTOR_PATHS } from '../helpers/vectors.js';

// The reference daemon's vectors, kept in test/vectors.
const VECTORS = VECTOR_PATHS.root;
const MANIFESTS = join(VECTORS, 'manifests');

interface ManifestVector {
  readonly bid: string;
  readonly bundle_secret: string;
  readonly author_label: string | null;
  readonly bk: string | null;
  readonly signature: string;
  readonly signed_message_sha512_of_text_incl_nul: string;
  readonly bk_mask_sha512_rs_bid_first32?: string;
}
interface Derived {
  readonly seed_string: string;
  readonly bundle_secret: string;
  readonly bid: string;
}
interface Identity {
  readonly label: string;
  readonly sid: string;
  readonly sid_secret_curve25519: string;
  readonly identity: string;
  readonly signing_seed: string;
  readonly rhizome_secret: string;
  readonly derived: {
    readonly meshms_conversation_index: Derived;
    readonly meshmb_subscriptions: Derived;
    readonly meshmb_activity: Derived;
    readonly meshmb_feed_bid: string;
  };
}

const hex = (s: string) => Buffer.from(s, 'hex');
const sha512 = (...parts: Array<string | Buffer>) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};
const dirs = readdirSync(MANIFESTS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const vector = (dir: string) => JSON.parse(readFileSync(join(MANIFESTS, dir, 'vector.json'), 'utf8')) as ManifestVector;
const rhm = (dir: string) => readFileSync(join(MANIFESTS, dir, 'manifest.rhm'));
const identities = (JSON.parse(readFileSync(join(VECTORS, 'identities.json'), 'utf8')) as { identities: Identity[] })
  .identities;
const who = (label: string) => identities.find((i) => i.label === label)!;
const otherSigned = [
  ...['x1_ply_bob', 'x1_ply_carol', 'x1_private_0', 'x1_private_1']
    .flatMap((d) => [d, d.replace('x1', 'x2')])
    .map((d) => join(VECTORS, 'meshms', d, 'manifest.rhm')),
  join(VECTORS, 'meshmb', 'feed', 'manifest.rhm'),
];

void describe('manifest signatures (§7.4)', () => {
  for (const dir of dirs) {
    void it(`${dir}: verifies, and re-signing with the bundle secret reproduces the bytes`, () => {
      const v = vector(dir);
      const bytes = rhm(dir);
      const nul = bytes.indexOf(0);
      const textBytes = bytes.subarray(0, nul);
      assert.equal(bytes.length, nul + 1 + 97);
      assert.equal(toHex(manifestDigest(textBytes)), v.signed_message_sha512_of_text_incl_nul);
      assert.equal(verifyManifestSignature(bytes), true);
      assert.equal(verifyManifestSignature(bytes, hex(v.bid)), true);
      assert.equal(toHex(manifestSigner(bytes)!), v.bid);
      const pair = bundleKeyPairFromSecret(hex(v.bundle_secret));
      assert.equal(toHex(pair.bid), v.bid);
      assert.equal(toHex(signatureBlock(textBytes, pair.secretKey).subarray(1, 65)), v.signature);
      assert.deepEqual(signManifest(textBytes, pair.secretKey), bytes); // Ed25519 is deterministic
    });
  }

  void it('the MeshMS and MeshMB manifests verify too', () => {
    for (const path of otherSigned) assert.equal(verifyManifestSignature(readFileSync(path)), true, path);
  });

  void it('flipping any single byte of the text makes verification fail', () => {
    for (const dir of dirs) {
      const bytes = rhm(dir);
      const nul = bytes.indexOf(0);
      for (let i = 0; i <= nul; i++) {
        const copy = Buffer.from(bytes);
        copy[i] = copy[i]! ^ 0x01;
        assert.equal(verifyManifestSignature(copy), false, `${dir} byte ${i}`);
        assert.equal(verifyManifestSignature(copy, hex(vector(dir).bid)), false, `${dir} byte ${i} with id`);
      }
    }
  });

  void it('flipping any byte of the signature block makes verification fail', () => {
    const bytes = rhm('01_anon_known_secret');
    const nul = bytes.indexOf(0);
    for (let i = nul + 1; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] = copy[i]! ^ 0x80;
      assert.equal(verifyManifestSignature(copy), false, `byte ${i}`);
    }
  });

  const body = Buffer.from('service=file\nname=x\n');
  const self = randomBundleKeyPair();
  const stranger = randomBundleKeyPair();
  const selfBlock = signatureBlock(body, self.secretKey);
  const signed = (...blocks: Buffer[]) => Buffer.concat([body, Buffer.of(0), ...blocks]);

  void it('skips blocks of other types by their 4*TYPE+5 length', () => {
    const type1 = Buffer.concat([Buffer.of(0x01), Buffer.alloc(8, 0x17)]);
    const type0 = Buffer.of(0x00, 0x17, 0x17, 0x17, 0x17);
    assert.equal(verifyManifestSignature(signed(type1, type0, selfBlock), self.bid), true);
  });

  void it('ignores blocks that fail, and trusts only the first block that verifies', () => {
    const broken = Buffer.from(selfBlock);
    broken[10] = broken[10]! ^ 1;
    assert.equal(verifyManifestSignature(signed(broken, selfBlock), self.bid), true);
    assert.equal(verifyManifestSignature(signed(signatureBlock(body, stranger.secretKey), selfBlock), self.bid), false);
    assert.equal(verifyManifestSignature(signed(selfBlock, signatureBlock(body, stranger.secretKey)), self.bid), true);
    assert.deepEqual(manifestSigner(signed(broken, signatureBlock(body, stranger.secretKey), selfBlock)), stranger.bid);
  });

  void it('fails without NUL, without blocks, or with an overrunning block', () => {
    assert.equal(verifyManifestSignature(body, self.bid), false);
    assert.equal(verifyManifestSignature(signed(), self.bid), false);
    assert.equal(verifyManifestSignature(signed(selfBlock.subarray(0, 96)), self.bid), false);
    const huge = Buffer.of(0xff); // a 1025-byte block: overruns, so parsing ends before selfBlock
    assert.equal(verifyManifestSignature(signed(huge, selfBlock), self.bid), false);
  });

  void it('without an id argument, uses the manifest id and fails on an unparsable manifest', () => {
    const withId = Buffer.from(`id=${toHex(self.bid)}\nname=x\n`);
    const selfSigned = (t: Buffer) => Buffer.concat([t, Buffer.of(0), signatureBlock(t, self.secretKey)]);
    assert.equal(verifyManifestSignature(selfSigned(withId)), true);
    assert.equal(verifyManifestSignature(signed(selfBlock)), false, 'no id field');
    assert.equal(verifyManifestSignature(selfSigned(Buffer.from('version=0\n'))), false);
  });

  void it('signManifest refuses text with a NUL', () => {
    assert.throws(() => signManifest(Buffer.from('a=b\0'), self.secretKey), RangeError);
  });
});

void describe('bundle IDs and secrets (§7.5)', () => {
  void it('01, 07, 12: BID = pk(known secret), the secrets being SHA512 of the README strings', () => {
    for (const [dir, seed] of [
      ['01_anon_known_secret', 'serval-vectors anon'],
      ['12_inserted_during_newsince', 'serval-vectors newsince'],
      ['07_crypt_bundle_secret', undefined],
    ] as const) {
      const v = vector(dir);
      assert.equal(toHex(bundleKeyPairFromSecret(hex(v.bundle_secret)).bid), v.bid, dir);
      assert.equal(isBundleSecretOf(hex(v.bundle_secret), hex(v.bid)), true);
      if (seed) {
        const pair = seededBundleKeyPair(seed);
        assert.equal(toHex(pair.secret), v.bundle_secret, dir);
        assert.equal(toHex(pair.bid), v.bid, dir);
      }
      assert.equal(parseManifest(rhm(dir)).has('BK'), false, 'anonymous bundles carry no BK');
    }
  });

  void it('the key pair is seed ‖ pk as libsodium lays it out', () => {
    const pair = randomBundleKeyPair();
    assert.equal(pair.secret.length, 32);
    assert.deepEqual(pair.secretKey, Buffer.concat([pair.secret, pair.bid]));
    assert.notDeepEqual(randomBundleKeyPair().secret, pair.secret);
    assert.equal(isBundleSecretOf(pair.secret, randomBundleKeyPair().bid), false);
    assert.throws(() => bundleKeyPairFromSecret(Buffer.alloc(31)), RangeError);
  });

  void it('hashes the passphrase with its leading # (built independently with node:crypto)', () => {
    const expected = sha512('Sago pudding', '#open sesame', 'Rhubarb pie').subarray(0, 32);
    assert.deepEqual(passphraseBundleSecret('#open sesame'), expected);
    assert.deepEqual(parseBundleSecret('#open sesame'), expected);
    const withoutHash = sha512('Sago pudding', 'open sesame', 'Rhubarb pie').subarray(0, 32);
    assert.notDeepEqual(parseBundleSecret('#open sesame'), withoutHash);
    const utf8 = '#Ünï ✓';
    const utf8Expected = sha512('Sago pudding', Buffer.from(utf8, 'utf8'), 'Rhubarb pie').subarray(0, 32);
    assert.deepEqual(parseBundleSecret(utf8), utf8Expected);
  });

  void it('parses a bundle-secret part: 64 hex digits, or # and 1 to 79 more bytes', () => {
    const secret = vector('01_anon_known_secret').bundle_secret;
    assert.equal(toHex(parseBundleSecret(secret)!), secret);
    assert.equal(toHex(parseBundleSecret(secret.toLowerCase())!), secret);
    assert.equal(toHex(parseBundleSecret(Buffer.from(secret))!), secret);
    assert.equal(parseBundleSecret(secret.slice(1)), undefined);
    assert.equal(parseBundleSecret(`${secret}0`), undefined);
    assert.equal(parseBundleSecret(`${secret.slice(1)}G`), undefined);
    assert.equal(parseBundleSecret(''), undefined);
    assert.equal(parseBundleSecret('#'), undefined);
    assert.equal(parseBundleSecret(`#${'p'.repeat(79)}`)?.length, 32);
    assert.equal(parseBundleSecret(`#${'p'.repeat(80)}`), undefined);
    assert.equal(parseBundleSecret(`#${'é'.repeat(40)}`), undefined, '81 bytes of UTF-8');
  });
});

void describe('bundle keys (§7.6)', () => {
  const authored = dirs.filter((d) => vector(d).author_label !== null);

  void it('has authored bundles to check', () => assert.ok(authored.length >= 8));

  for (const dir of authored) {
    void it(`${dir}: BK = secret XOR SHA512(RS ‖ BID)[0..32) and recovers the secret`, () => {
      const v = vector(dir);
      const author = who(v.author_label!);
      const rs = hex(author.rhizome_secret);
      const bid = hex(v.bid);
      assert.equal(toHex(bundleKeyMask(rs, bid)), v.bk_mask_sha512_rs_bid_first32);
      assert.equal(toHex(computeBundleKey(hex(v.bundle_secret), rs, bid)), v.bk);
      assert.equal(toHex(parseManifest(rhm(dir)).bk!), v.bk);
      assert.equal(toHex(recoverBundleSecret(hex(v.bk!), rs, bid)!), v.bundle_secret);
      for (const other of identities.filter((i) => i.label !== v.author_label)) {
        const impostor = recoverBundleSecret(hex(v.bk!), hex(other.rhizome_secret), bid);
        assert.equal(impostor, undefined, `${other.label} is an impostor`);
      }
    });
  }

  void it("02 and 10: Bob's Rhizome Secret recovers the secret of the updated bundle", () => {
    for (const dir of ['02_authored_bob', '10_update_02_v2']) {
      const v = vector(dir);
      const m = parseManifest(rhm(dir));
      assert.equal(toHex(recoverBundleSecret(m.bk!, hex(who('bob').rhizome_secret), m.id!)!), v.bundle_secret);
    }
  });
});

void describe('deterministic bundles (§7.12, §7.13)', () => {
  for (const id of identities) {
    void it(`${id.label}: seed strings, secrets and BIDs of the private bundles`, () => {
      const d = id.derived;
      assert.equal(meshmsIndexSeedString(hex(id.sid_secret_curve25519)), d.meshms_conversation_index.seed_string);
      assert.equal(meshmbSubscriptionsSeedString(hex(id.signing_seed)), d.meshmb_subscriptions.seed_string);
      assert.equal(meshmbActivitySeedString(hex(id.signing_seed)), d.meshmb_activity.seed_string);
      for (const bundle of [d.meshms_conversation_index, d.meshmb_subscriptions, d.meshmb_activity]) {
        const pair = seededBundleKeyPair(bundle.seed_string);
        assert.equal(toHex(pair.secret), bundle.bundle_secret);
        assert.equal(toHex(pair.bid), bundle.bid);
        assert.deepEqual(pair.secret, sha512(bundle.seed_string).subarray(0, 32), 'no NUL is hashed');
      }
      // The MeshMB feed is the identity's own signing key (§7.5), and its SID the BID's Curve25519 image.
      assert.equal(toHex(bundleKeyPairFromSecret(hex(id.signing_seed)).bid), d.meshmb_feed_bid);
      assert.equal(toHex(bundleIdToSid(hex(id.identity))!), id.sid);
    });
  }

  void it('the stored conversation indexes are the derived bundles', () => {
    const bids = new Set(identities.map((i) => i.derived.meshms_conversation_index.bid));
    for (const d of ['x1_private_0', 'x1_private_1', 'x2_private_0', 'x2_private_1']) {
      const m = parseManifest(readFileSync(join(VECTORS, 'meshms', d, 'manifest.rhm')));
      assert.ok(bids.has(toHex(m.id!)), d);
    }
  });

  void it('the MeshMB feed is self-signed: sender = Curve25519(BID)', () => {
    const m = parseManifest(readFileSync(join(VECTORS, 'meshmb', 'feed', 'manifest.rhm')));
    assert.deepEqual(bundleIdToSid(m.id!), m.sender);
    assert.equal(isSidOfBundle(m.id!, m.sender!), true);
  });

  void it("isSidOfBundle agrees with the conversion: each key's own image, and no other", () => {
    const keys = Array.from({ length: 200 }, () => randomBundleKeyPair().bid);
    for (const [i, bid] of keys.entries()) {
      const sid = bundleIdToSid(bid)!;
      assert.equal(isSidOfBundle(bid, sid), true);
      assert.equal(isSidOfBundle(bid, bundleIdToSid(keys[(i + 1) % keys.length]!)!), false, 'the image of another key');
      const flipped = Buffer.from(sid);
      flipped[i % 32]! ^= 1 << (i % 8);
      assert.equal(isSidOfBundle(bid, flipped), false, 'one bit changed');
      // The sign bit of the BID is not in the image: the other sign's point has the same one,
      // and the conversion decides whether it is valid.
      const other = Buffer.from(bid);
      other[31]! ^= 0x80;
      assert.equal(isSidOfBundle(other, sid), bundleIdToSid(other)?.equals(sid) ?? false);
    }
    // Not curve points (y = 1 is the neutral element; all ones is no canonical y): never an image.
    const one = Buffer.alloc(32);
    one[0] = 1;
    for (const bid of [one, Buffer.alloc(32, 0xff)]) assert.equal(isSidOfBundle(bid, Buffer.alloc(32)), bundleIdToSid(bid)?.equals(Buffer.alloc(32)) ?? false);
  });
});
