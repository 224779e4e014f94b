import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonResult, jsonString, jsonTableHead, jsonTableRow, jsonValue, JSON_TABLE_TAIL } from '../../src/http/json.js';

void describe('Serval JSON (spec §1.11, §1.12)', () => {
  void it('escapes all non-ASCII as uppercase \\uXXXX, astral code points as surrogate pairs', () => {
    assert.equal(jsonString('Carol Ünicöde ✓'), '"Carol \\u00DCnic\\u00F6de \\u2713"');
    assert.equal(jsonString('🎉 😐'), '"\\uD83C\\uDF89 \\uD83D\\uDE10"');
  });

  void it('uses the short escapes and \\u00XX for other controls, leaves / alone', () => {
    assert.equal(jsonString('a"b\\c/d\b\f\n\r\te\x01\x7f'), '"a\\"b\\\\c/d\\b\\f\\n\\r\\te\\u0001\\u007F"');
  });

  void it('stops at an embedded NUL like a C string, and renders null', () => {
    assert.equal(jsonString('abc\0def'), '"abc"');
    assert.equal(jsonString(null), 'null');
    assert.equal(jsonString(undefined), 'null');
  });

  void it('renders compact nested values and drops undefined members', () => {
    assert.equal(jsonValue({ sid: 'A', did: undefined, n: 3, b: false, x: null, l: [1n, 'é'] }), '{"sid":"A","n":3,"b":false,"x":null,"l":[1,"\\u00E9"]}');
  });

  void it('renders the JSON result object byte for byte', () => {
    assert.equal(jsonResult(401, 'Unauthorized'), '{\n "http_status_code": 401,\n "http_status_message": "Unauthorized"\n}');
    assert.equal(Buffer.byteLength(jsonResult(401, 'Unauthorized')), 68);
    assert.equal(
      jsonResult(201, 'Identity added', [['identity', { sid: 'S', identity: 'I' }]]),
      '{\n "http_status_code": 201,\n "http_status_message": "Identity added",\n "identity": {"sid":"S","identity":"I"}\n}',
    );
  });

  void it('renders tables as the reference streams them', () => {
    const empty = jsonTableHead(['sid', 'name']) + JSON_TABLE_TAIL;
    assert.equal(empty, '{\n"header":["sid","name"],\n"rows":[\n]\n}\n');
    const two = jsonTableHead(['a'], [['read_offset', 0]]) + jsonTableRow([1], true) + jsonTableRow([null], false) + JSON_TABLE_TAIL;
    assert.equal(two, '{\n"read_offset":0,\n"header":["a"],\n"rows":[\n[1],\n[null]\n]\n}\n');
  });
});
