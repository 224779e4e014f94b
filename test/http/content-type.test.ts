import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTendrilError } from '../../src/errors.js';
import {
  CONTENT_TYPE_RHIZOME_BID_HEX,
  CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX,
  CONTENT_TYPE_RHIZOME_MANIFEST,
  CONTENT_TYPE_SID_HEX,
  CONTENT_TYPE_TEXT_UTF8,
  formatContentType,
  parseContentType,
  quoteString,
  sameContentType,
  tryParseContentType,
} from '../../src/http/content-type.js';

function assertMalformed(value: string): void {
  assert.throws(
    () => parseContentType(value),
    (err: unknown) => isTendrilError(err) && err.code === 'HTTP_MALFORMED_CONTENT_TYPE' && err.status === 400,
    JSON.stringify(value),
  );
  assert.equal(tryParseContentType(value), undefined, JSON.stringify(value));
}

describe('parseContentType (spec §1.6)', () => {
  it('parses type, subtype and the three recognised parameters', () => {
    assert.deepEqual(parseContentType('multipart/form-data; boundary=XyZ'), {
      type: 'multipart',
      subtype: 'form-data',
      boundary: 'XyZ',
    });
    assert.deepEqual(parseContentType('text/plain; charset=utf-8; format=flowed'), {
      type: 'text',
      subtype: 'plain',
      charset: 'utf-8',
      format: 'flowed',
    });
    assert.deepEqual(parseContentType('rhizome/manifest; format=text+binarysig'), {
      type: 'rhizome',
      subtype: 'manifest',
      format: 'text+binarysig',
    });
  });

  it('keeps the case of type, subtype and values', () => {
    assert.deepEqual(parseContentType('Text/PLAIN; charset=UTF-8'), { type: 'Text', subtype: 'PLAIN', charset: 'UTF-8' });
  });

  it('allows whitespace around ";" and around the whole value', () => {
    for (const value of [
      'text/plain;charset=utf-8',
      'text/plain ;charset=utf-8',
      'text/plain;  charset=utf-8',
      'text/plain \t; \tcharset=utf-8',
      '  text/plain; charset=utf-8  ',
    ]) {
      assert.deepEqual(parseContentType(value), CONTENT_TYPE_TEXT_UTF8, value);
    }
  });

  it('does not allow whitespace around "=" or inside type/subtype', () => {
    assertMalformed('text/plain; charset =utf-8');
    assertMalformed('text/plain; charset= utf-8');
    assertMalformed('text /plain');
    assertMalformed('text/ plain');
  });

  it('unquotes quoted-string values, with backslash escapes', () => {
    assert.equal(parseContentType('multipart/form-data; boundary="XyZ"').boundary, 'XyZ');
    assert.equal(parseContentType('multipart/form-data; boundary="a b;c=d"').boundary, 'a b;c=d');
    assert.equal(parseContentType('multipart/form-data; boundary="a\\"b\\\\c\\d"').boundary, 'a"b\\cd');
  });

  it('matches parameter names case-sensitively and skips unknown parameters', () => {
    assert.deepEqual(parseContentType('text/plain; Charset=utf-8'), { type: 'text', subtype: 'plain' });
    assert.deepEqual(parseContentType('text/plain; BOUNDARY=x; Format=hex'), { type: 'text', subtype: 'plain' });
    assert.deepEqual(parseContentType('text/plain; foo=bar; charset=utf-8; x="a;b"'), CONTENT_TYPE_TEXT_UTF8);
    assert.deepEqual(parseContentType('text/plain; charsetx=latin1'), { type: 'text', subtype: 'plain' });
  });

  it('lets a repeated parameter overwrite the earlier one, as the reference does', () => {
    assert.equal(parseContentType('text/plain; charset=latin1; charset=utf-8').charset, 'utf-8');
  });

  it('enforces the reference limits: type/subtype 63, boundary 70, charset/format 30', () => {
    const s = (n: number) => 'a'.repeat(n);
    assert.equal(parseContentType(`${s(63)}/${s(63)}`).type.length, 63);
    assertMalformed(`${s(64)}/plain`);
    assertMalformed(`text/${s(64)}`);
    assert.equal(parseContentType(`multipart/form-data; boundary=${s(70)}`).boundary?.length, 70);
    assertMalformed(`multipart/form-data; boundary=${s(71)}`);
    assert.equal(parseContentType(`text/plain; charset=${s(30)}`).charset?.length, 30);
    assertMalformed(`text/plain; charset=${s(31)}`);
    assert.equal(parseContentType(`text/plain; format=${s(30)}`).format?.length, 30);
    assertMalformed(`text/plain; format=${s(31)}`);
    // Limits count the unquoted value.
    assert.equal(parseContentType(`multipart/form-data; boundary="${'\\a'.repeat(70)}"`).boundary, s(70));
    assertMalformed(`multipart/form-data; boundary="${'\\a'.repeat(71)}"`);
    // Unknown parameters have no limit.
    assert.deepEqual(parseContentType(`text/plain; x=${s(500)}`), { type: 'text', subtype: 'plain' });
  });

  it('rejects malformed values', () => {
    for (const value of [
      '',
      ' ',
      'text',
      'text/',
      '/plain',
      'text/plain/x',
      'text/plain;',
      'text/plain; ',
      'text/plain;;charset=utf-8',
      'text/plain; charset',
      'text/plain; charset=',
      'text/plain; charset=""',
      'text/plain; charset="utf-8',
      'text/plain; charset="utf-8\\',
      'text/plain; charset=utf-8 x',
      'text/plain; charset=utf-8,',
      'text/plain x',
      'text/plain; charset="tab\there"',
      'text/plain; =x',
      'text/plain; x=',
      'text/plain; x=""',
      'tëxt/plain',
      'text/plain, text/html',
      'text/plain\r\n',
    ]) {
      assertMalformed(value);
    }
  });
});

describe('sameContentType (spec §1.8)', () => {
  const same = (value: string, ct: typeof CONTENT_TYPE_RHIZOME_MANIFEST) => sameContentType(parseContentType(value), ct);

  it('treats quoted and unquoted values, and spacing, as equal', () => {
    assert.ok(same('rhizome/manifest; format=text+binarysig', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(same('rhizome/manifest;format=text+binarysig', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(same('rhizome/manifest; format="text+binarysig"', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(same('serval/sid;format=hex', CONTENT_TYPE_SID_HEX));
    assert.ok(same('rhizome/bid; format="hex"', CONTENT_TYPE_RHIZOME_BID_HEX));
    assert.ok(same('rhizome/bundlesecret; format=hex', CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX));
    assert.ok(same('text/plain; charset=utf-8', CONTENT_TYPE_TEXT_UTF8));
    assert.ok(same('text/plain; charset="utf-8"', CONTENT_TYPE_TEXT_UTF8));
  });

  it('ignores unknown parameters', () => {
    assert.ok(same('serval/sid; format=hex; foo=bar', CONTENT_TYPE_SID_HEX));
  });

  it('is exact on type, subtype, boundary, charset and format', () => {
    assert.ok(!same('rhizome/manifest; format="text"', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(!same('rhizome/manifest', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(!same('Rhizome/manifest; format=text+binarysig', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(!same('rhizome/Manifest; format=text+binarysig', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(!same('rhizome/manifest; format=TEXT+BINARYSIG', CONTENT_TYPE_RHIZOME_MANIFEST));
    assert.ok(!same('text/plain; charset=UTF-8', CONTENT_TYPE_TEXT_UTF8));
    assert.ok(!same('text/plain', CONTENT_TYPE_TEXT_UTF8));
    assert.ok(!same('text/plain; charset=utf-8; format=flowed', CONTENT_TYPE_TEXT_UTF8));
    assert.ok(!same('text/plain; charset=utf-8; boundary=x', CONTENT_TYPE_TEXT_UTF8));
    // An unexpected extra charset makes it unequal.
    assert.ok(!same('serval/sid; format=hex; charset=utf-8', CONTENT_TYPE_SID_HEX));
    assert.ok(!same('serval/sid; format=hex', CONTENT_TYPE_RHIZOME_BID_HEX));
  });

  it('is symmetric', () => {
    const a = parseContentType('text/plain; charset=utf-8');
    const b = parseContentType('text/plain');
    assert.equal(sameContentType(a, b), sameContentType(b, a));
    assert.ok(sameContentType(a, a));
  });
});

describe('formatContentType', () => {
  it('renders the §1.8 constants exactly', () => {
    assert.equal(formatContentType(CONTENT_TYPE_SID_HEX), 'serval/sid; format=hex');
    assert.equal(formatContentType(CONTENT_TYPE_RHIZOME_BID_HEX), 'rhizome/bid; format=hex');
    assert.equal(formatContentType(CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX), 'rhizome/bundlesecret; format=hex');
    assert.equal(formatContentType(CONTENT_TYPE_RHIZOME_MANIFEST), 'rhizome/manifest; format=text+binarysig');
    assert.equal(formatContentType(CONTENT_TYPE_TEXT_UTF8), 'text/plain; charset=utf-8');
  });

  it('quotes values that are not tokens, in the order charset, boundary, format', () => {
    assert.equal(
      formatContentType({ type: 'multipart', subtype: 'form-data', format: 'x', boundary: 'a b"c', charset: 'utf-8' }),
      'multipart/form-data; charset=utf-8; boundary="a b\\"c"; format=x',
    );
  });

  it('round-trips through parseContentType', () => {
    for (const ct of [
      CONTENT_TYPE_RHIZOME_MANIFEST,
      CONTENT_TYPE_TEXT_UTF8,
      { type: 'multipart', subtype: 'form-data', boundary: '----WebKitFormBoundary7MA4YWxkTrZu0gW' },
      { type: 'multipart', subtype: 'form-data', boundary: "'()+_,-./:=? \\\"" },
    ]) {
      assert.deepEqual(parseContentType(formatContentType(ct)), ct);
    }
  });

  it('quoteString escapes only the quote and the backslash', () => {
    assert.equal(quoteString('a "b" \\c\' d'), '"a \\"b\\" \\\\c\' d"');
  });
});
