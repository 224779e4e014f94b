/**
 * Each outcome of an insert or append (spec §3.8, §3.9) that the checklist rows do not reach:
 * the 419s of authorship and secrets, the 422s of manifests, 202 old and 200 same, and the
 * details of the step lists (field order of updates, implied crypt, journal rules, Range on an
 * empty payload).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { append, insert, loadReferenceIdentities, manifestFields, MANIFEST_TYPE, referenceIdentities, statuses, type RhizomeJson } from '../helpers/rhizome.js';

const ids = referenceIdentities();
const BOB = ids.bob!.sid;
const CAROL = ids.carol!.sid;

void describe('insert outcomes, each status of spec §3.8', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  const result = (r: Reply): RhizomeJson => r.json<RhizomeJson>();

  void it('419: an author or sender not in the keyring, a secret of another bundle, an author whose BK does not open', async () => {
    const stranger = 'AB'.repeat(32);
    for (const parts of [
      { author: stranger, manifest: 'name=x\n', payload: 'x' },
      { manifest: `name=x\nsender=${stranger}\n`, payload: 'x' },
    ]) {
      const r = await insert(t, parts);
      assert.equal(r.status, 419);
      assert.equal(r.reason, 'Author is not in keyring');
      assert.deepEqual(result(r), {
        http_status_code: 419,
        http_status_message: 'Author is not in keyring',
        rhizome_bundle_status_code: 8,
        rhizome_bundle_status_message: 'Author is not in keyring',
      });
    }
    const bob = await insert(t, { author: BOB, manifest: 'name=bobs\n', payload: 'bobs' });
    const f = manifestFields(bob.body);
    const wrongSecret = await insert(t, { secret: 'CD'.repeat(32), manifest: `id=${f.get('id')}\nname=x\n`, payload: 'x' });
    assert.equal(wrongSecret.status, 419);
    assert.equal(result(wrongSecret).rhizome_bundle_status_message, 'Supplied bundle secret does not match Bundle Id');
    const impostor = await insert(t, { author: CAROL, manifest: `id=${f.get('id')}\nBK=${f.get('BK')}\nname=x\n`, payload: 'x' });
    assert.equal(impostor.status, 419);
    assert.equal(result(impostor).rhizome_bundle_status_message, 'Incorrect author');
    assert.deepEqual((await t.request('GET', `/restful/rhizome/${f.get('id')}.rhm`)).body, bob.body, 'unchanged');
  });

  void it('419 before the payload: crypt=1 with no key this node can derive keeps bundle status 0', async () => {
    const r = await insert(t, { manifest: `name=x\nrecipient=${'AB'.repeat(32)}\n`, payload: 'x' });
    assert.equal(r.status, 419);
    assert.equal(r.reason, 'Bundle new to store');
    assert.deepEqual([result(r).rhizome_bundle_status_code, result(r).rhizome_payload_status_code], [0, 5]);
    assert.equal(result(r).rhizome_payload_status_message, 'Incorrect bundle secret');
    assert.deepEqual(statuses(r), [0, 5]);
  });

  void it('422: a manifest that does not parse, a bad core field, a bad non-core field', async () => {
    for (const [manifest, message] of [
      ['name x\n', 'Invalid manifest'],
      ['name=x\nversion=abc\n', 'Invalid manifest'],
      ['name=x\nname=y\n', 'Invalid manifest'],
      ['name=x\nsender=zz\n', 'Malformed manifest: Invalid field'],
      ['name=x\ncrypt=2\n', 'Malformed manifest: Invalid field'],
    ] as const) {
      const r = await insert(t, { author: BOB, manifest, payload: 'x' });
      assert.equal(r.status, 422, manifest);
      assert.equal(r.reason, message, manifest);
      assert.deepEqual(statuses(r), [4, undefined], manifest);
      assert.equal(result(r).rhizome_bundle_status_message, message);
    }
  });

  void it('202 old and 200 same: the stored manifest answers; a new payload does not make "same" a 201', async () => {
    const first = await insert(t, { author: BOB, manifest: 'name=versions\n', payload: 'version one' });
    const f = manifestFields(first.body);
    const old = await insert(t, { bundleId: f.get('id'), manifest: 'version=1\n', payload: 'an older version' });
    assert.equal(old.status, 202, old.text);
    assert.equal(old.reason, 'Accepted');
    assert.equal(old.headers['content-type'], MANIFEST_TYPE);
    assert.deepEqual(old.body, first.body, 'the newer, stored manifest');
    assert.equal(statuses(old)[0], 3);
    assert.equal(old.headers['serval-rhizome-result-bundle-status-message'], '"Newer bundle already in store"');
    for (const payload of ['version one', 'a different payload, same version']) {
      const same = await insert(t, { bundleId: f.get('id'), manifest: `version=${f.get('version')}\n`, payload });
      assert.equal(same.status, 200, `${payload}: ${same.text}`);
      assert.equal(same.reason, 'OK');
      assert.deepEqual(same.body, first.body);
      assert.equal(statuses(same)[0], 1);
      assert.equal(same.headers['serval-rhizome-bundle-rowid'], first.headers['serval-rhizome-bundle-rowid']);
    }
    assert.equal((await t.request('GET', `/restful/rhizome/${f.get('id')}/raw.bin`)).text, 'version one');
  });
});

void describe('insert and append step details (spec §3.8.1 – §3.9)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('more than 256 fields is an invalid manifest; a manifest too big to sign is status 10', async () => {
    const many = Array.from({ length: 257 }, (_, i) => `f${i}=x\n`).join('');
    const r = await insert(t, { author: BOB, manifest: many, payload: 'x' });
    assert.equal(r.status, 422);
    assert.equal(r.reason, 'Invalid manifest');
    const big = await insert(t, { author: BOB, manifest: `name=big\nfoo=${'x'.repeat(8000)}\n`, payload: 'x' });
    assert.equal(big.status, 422);
    assert.equal(big.json<RhizomeJson>().rhizome_bundle_status_code, 10);
    assert.match(big.json<RhizomeJson>().rhizome_bundle_status_message!, /^Manifest too big: body of \d+( \+ signature of 97)? bytes exceeds limit of 8192$/);
  });

  void it('an update through bundle-id keeps the stored field order, replaces fields in place and appends new ones', async () => {
    const first = await insert(t, { author: BOB, manifest: 'name=original\nzeta=1\n', payload: 'v1' });
    const before = [...manifestFields(first.body).keys()];
    const r = await insert(t, { bundleId: manifestFields(first.body).get('id'), manifest: 'zeta=2\nname=renamed\nomega=new\n', payload: 'v2' });
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    const kept = before.filter((k) => !['version', 'filesize', 'filehash'].includes(k));
    assert.deepEqual([...f.keys()].slice(0, kept.length), kept, 'stored fields first, in their order');
    assert.deepEqual(new Set([...f.keys()].slice(kept.length)), new Set(['version', 'filesize', 'filehash', 'omega']));
    assert.equal(f.get('name'), 'renamed');
    assert.equal(f.get('zeta'), '2');
    assert.equal(f.get('date'), manifestFields(first.body).get('date'), 'date kept');
    assert.equal(f.get('BK'), manifestFields(first.body).get('BK'), 'BK kept');
  });

  void it('a bundle-id that names nothing is ignored: a new bundle id', async () => {
    const absent = 'AB'.repeat(32);
    const r = await insert(t, { author: BOB, bundleId: absent, manifest: 'name=fresh\n', payload: 'fresh' });
    assert.equal(r.status, 201, r.text);
    assert.notEqual(manifestFields(r.body).get('id'), absent);
  });

  void it('crypt is implied by a recipient, except the broadcast one, and an explicit crypt=0 stands', async () => {
    const broadcast = await insert(t, { manifest: `name=all\nsender=${BOB}\nrecipient=${'F'.repeat(64)}\n`, payload: 'to everyone' });
    assert.equal(broadcast.status, 201, broadcast.text);
    assert.equal(manifestFields(broadcast.body).has('crypt'), false);
    assert.equal((await t.request('GET', `/restful/rhizome/${manifestFields(broadcast.body).get('id')}/raw.bin`)).text, 'to everyone');
    const explicit = await insert(t, { manifest: `name=clear\nsender=${BOB}\nrecipient=${CAROL}\ncrypt=0\n`, payload: 'in clear' });
    assert.equal(manifestFields(explicit.body).get('crypt'), '0');
    assert.equal((await t.request('GET', `/restful/rhizome/${manifestFields(explicit.body).get('id')}/raw.bin`)).text, 'in clear');
  });

  void it('append: no version, filesize or filehash in the partial manifest; journals are never duplicates', async () => {
    for (const field of ['version=5', 'filesize=3', `filehash=${'A'.repeat(128)}`]) {
      const r = await append(t, { author: BOB, manifest: `${field}\n`, payload: 'abc' });
      assert.equal(r.status, 422, field);
      assert.equal(r.json<RhizomeJson>().rhizome_bundle_status_message, `Cannot set '${field.slice(0, field.indexOf('='))}' field in journal append`);
    }
    const a = await append(t, { author: BOB, manifest: 'name=twin\n', payload: 'same bytes' });
    const b = await append(t, { author: BOB, manifest: 'name=twin\n', payload: 'same bytes' });
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.notEqual(manifestFields(a.body).get('id'), manifestFields(b.body).get('id'));
    assert.equal(b.headers['serval-rhizome-result-payload-status-code'], '2', 'the payload is shared');
  });

  void it('a zero-length payload is 200 and empty whatever the Range', async () => {
    const r = await insert(t, { author: BOB, manifest: 'name=nothing\n', payload: '' });
    const bid = manifestFields(r.body).get('id')!;
    for (const range of ['bytes=0-10', 'bytes=5-', 'bytes=-3']) {
      for (const which of ['raw.bin', 'decrypted.bin']) {
        const g = await t.request('GET', `/restful/rhizome/${bid}/${which}`, { headers: { Range: range } });
        assert.equal(g.status, 200, `${which} ${range}`);
        assert.equal(g.body.length, 0);
        assert.equal(g.headers['content-range'], undefined);
      }
    }
  });
});
