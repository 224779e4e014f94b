/**
 * The reference daemon's bundles (test/vectors/manifests): they import here, read back byte for
 * byte, decrypt with the reference identities, and a forged one is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { bundleVector, importBundle, loadReferenceIdentities, VECTOR_BUNDLES } from '../helpers/rhizome.js';

void describe('reference bundles', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('each imports with 201 (zero-length and journals included) and reads back identical', async () => {
    for (const dir of VECTOR_BUNDLES) {
      const v = bundleVector(dir);
      const r = await importBundle(t, v.manifest, v.json.filesize > 0 ? v.raw : undefined);
      // 02 and 10 are two versions of one bundle, as are the three 08 journals: later ones replace.
      assert.ok(r.status === 201 || r.status === 202, `${dir}: ${r.status} ${r.text}`);
      const body = r.json<{ rhizome_bundle_status_code: number }>();
      if (r.status === 201) {
        assert.equal(r.reason, 'Created', dir);
        assert.equal(body.rhizome_bundle_status_code, 0, dir);
        assert.equal(r.headers['serval-rhizome-bundle-id'], v.json.bid, dir);
      }
    }
    for (const dir of ['01_anon_known_secret', '03_file_named_alice', '04_zero_length_carol', '05_custom_service_dave', '06_crypt_sender_recipient', '07_crypt_bundle_secret', '08_journal_v3_append', '10_update_02_v2', '12_inserted_during_newsince']) {
      const v = bundleVector(dir);
      const rhm = await t.request('GET', `/restful/rhizome/${v.json.bid}.rhm`);
      assert.equal(rhm.status, 200, dir);
      assert.deepEqual(rhm.body, v.manifest, dir);
      const raw = await t.request('GET', `/restful/rhizome/${v.json.bid}/raw.bin`);
      assert.equal(raw.status, 200, dir);
      assert.deepEqual(raw.body, v.raw, dir);
    }
  });

  void it('an older version after a newer one is 202; the same again is 200', async () => {
    const v1 = bundleVector('08_journal_v1_create');
    const r = await importBundle(t, v1.manifest, v1.raw);
    assert.equal(r.status, 202);
    assert.equal(r.reason, 'Newer bundle already in store');
    assert.equal(r.json<{ rhizome_bundle_status_code: number }>().rhizome_bundle_status_code, 3);
    const v3 = bundleVector('08_journal_v3_append');
    const same = await importBundle(t, v3.manifest, v3.raw);
    assert.equal(same.status, 200);
    assert.equal(same.reason, 'Bundle already in store');
  });

  void it('a one-byte change makes the signature fail: 419 "fake"', async () => {
    const v = bundleVector('05_custom_service_dave');
    const forged = Buffer.from(v.manifest);
    const at = forged.indexOf('service=') + 8;
    forged[at] = forged[at] === 0x76 ? 0x77 : 0x76;
    const r = await importBundle(t, forged, v.raw);
    assert.equal(r.status, 419);
    assert.equal(r.json<{ rhizome_bundle_status_code: number }>().rhizome_bundle_status_code, 5);
  });

  void it('decrypted.bin: the pair-encrypted payload decrypts with the loaded identities; the secret-keyed one is 419', async () => {
    const v6 = bundleVector('06_crypt_sender_recipient');
    const dec = await t.request('GET', `/restful/rhizome/${v6.json.bid}/decrypted.bin`);
    assert.equal(dec.status, 200, dec.text);
    assert.deepEqual(dec.body, v6.decrypted);
    const v7 = bundleVector('07_crypt_bundle_secret');
    const foreign = await t.request('GET', `/restful/rhizome/${v7.json.bid}/decrypted.bin`);
    assert.equal(foreign.status, 419);
    assert.equal(foreign.reason, 'Payload decryption error');
    assert.deepEqual(foreign.json(), {
      http_status_code: 419,
      http_status_message: 'Payload decryption error',
      rhizome_bundle_status_code: 1,
      rhizome_bundle_status_message: 'Bundle already in store',
      rhizome_payload_status_code: 5,
      rhizome_payload_status_message: 'Incorrect bundle secret',
    });
  });

  void it('the authored bundle shows its author and secret once its author is unlocked', async () => {
    const v = bundleVector('10_update_02_v2');
    const r = await t.request('GET', `/restful/rhizome/${v.json.bid}.rhm`);
    assert.equal(r.headers['serval-rhizome-bundle-author'], v.json.author_sid);
    assert.equal(r.headers['serval-rhizome-bundle-secret'], v.json.bundle_secret);
  });

  void it('import with id/version already stored answers at once without reading the body', async () => {
    const v = bundleVector('03_file_named_alice');
    const r = await importBundle(t, Buffer.from('not even a manifest'), undefined, `?id=${v.json.bid}&version=${v.json.version}`);
    assert.equal(r.status, 200);
    assert.equal(r.reason, 'Bundle already in store');
    assert.equal(r.headers['serval-rhizome-bundle-id'], v.json.bid);
    assert.equal(r.headers['serval-rhizome-bundle-version'], String(v.json.version));
    assert.equal(r.headers['serval-rhizome-bundle-filesize'], String(v.json.filesize));
    assert.equal(r.headers['serval-rhizome-bundle-filehash'], undefined);
  });

  void it('import query rules: both or neither; mismatching manifest is 422 mentioning the query', async () => {
    const v = bundleVector('12_inserted_during_newsince');
    assert.equal((await importBundle(t, v.manifest, v.raw, `?id=${v.json.bid}`)).reason, 'Missing "version" parameter');
    assert.equal((await importBundle(t, v.manifest, v.raw, '?version=1')).reason, 'Missing "id" parameter');
    assert.equal((await importBundle(t, v.manifest, v.raw, '?id=XYZ&version=1')).reason, 'Invalid "id" parameter');
    assert.equal((await importBundle(t, v.manifest, v.raw, `?id=${v.json.bid}&version=x`)).reason, 'Invalid "version" parameter');
    const off = await importBundle(t, v.manifest, v.raw, `?id=${v.json.bid}&version=${v.json.version + 1}`);
    assert.equal(off.status, 422);
    assert.match(off.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, /query/);
  });
});
