import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTendrilError } from '../../src/errors.js';
import { contentRangeHeader, parseRange, resolveRange, unsatisfiableRangeHeader } from '../../src/http/range.js';
import type { RangeResolution } from '../../src/http/range.js';

function assertMalformed(header: string): void {
  assert.throws(
    () => parseRange(header),
    (err: unknown) => isTendrilError(err) && err.code === 'HTTP_MALFORMED_RANGE' && err.status === 400,
    JSON.stringify(header),
  );
}

/** What a GET of a `length`-byte payload with this Range header gets, as the REST endpoints answer. */
function resolve(header: string, length: number): RangeResolution {
  return resolveRange(parseRange(header), length, 'whole');
}

describe('parseRange (spec §1.13)', () => {
  it('parses the three forms', () => {
    assert.deepEqual(parseRange('bytes=100-199'), [{ kind: 'closed', first: 100n, last: 199n }]);
    assert.deepEqual(parseRange('bytes=0-0'), [{ kind: 'closed', first: 0n, last: 0n }]);
    assert.deepEqual(parseRange('bytes=500-'), [{ kind: 'open', first: 500n }]);
    assert.deepEqual(parseRange('bytes=-500'), [{ kind: 'suffix', length: 500n }]);
  });

  it('parses a set, with optional spaces after commas only', () => {
    assert.deepEqual(parseRange('bytes=0-1,5-,-3'), [
      { kind: 'closed', first: 0n, last: 1n },
      { kind: 'open', first: 5n },
      { kind: 'suffix', length: 3n },
    ]);
    assert.equal(parseRange('bytes=0-1,  \t5-6')?.length, 2);
    assertMalformed('bytes=0-1 ,5-6');
  });

  it('tolerates whitespace around the value', () => {
    assert.deepEqual(parseRange('  bytes=1-2 \t'), [{ kind: 'closed', first: 1n, last: 2n }]);
  });

  it('rejects last < first with 400, wherever it is in the set', () => {
    assertMalformed('bytes=200-100');
    assertMalformed('bytes=1-0');
    assertMalformed('bytes=0-1,9-8');
    assertMalformed('bytes=0-1,1-2,2-3,3-4,4-5,9-8'); // even in a set long enough to be ignored
  });

  it('ignores a header with more than five ranges', () => {
    assert.equal(parseRange('bytes=0-1,2-3,4-5,6-7,8-9,10-11'), undefined);
    assert.equal(parseRange('bytes=0-1,2-3,4-5,6-7,8-9')?.length, 5);
  });

  it('rejects garbage', () => {
    for (const header of [
      '',
      'bytes',
      'bytes=',
      'bytes= 1-2',
      'bytes=-',
      'bytes=--1',
      'bytes=1',
      'bytes=1-2-3',
      'bytes=a-b',
      'bytes=1-2,',
      'bytes=1-2, ',
      'bytes=,1-2',
      'bytes=1 -2',
      'bytes=1- 2',
      'bytes=+1-2',
      'bytes=0x10-20',
      'bytes=1.5-2',
      'Bytes=1-2',
      'bytes =1-2',
      'items=1-2',
      'bytes=1-2;3-4',
      'bytes=١-٢', // non-ASCII digits
    ]) {
      assertMalformed(header);
    }
  });

  it('keeps numbers beyond 2^53 exact and rejects those beyond 2^64-1', () => {
    assert.deepEqual(parseRange('bytes=9007199254740993-'), [{ kind: 'open', first: 9007199254740993n }]);
    assert.deepEqual(parseRange('bytes=0-18446744073709551615'), [{ kind: 'closed', first: 0n, last: 18446744073709551615n }]);
    assert.deepEqual(parseRange('bytes=-000000000000000000000000000007'), [{ kind: 'suffix', length: 7n }]);
    assertMalformed('bytes=0-18446744073709551616');
    assertMalformed('bytes=18446744073709551616-');
    assertMalformed('bytes=-99999999999999999999999999');
    assertMalformed(`bytes=0-${'9'.repeat(5000)}`);
  });
});

describe('resolveRange (spec §1.13)', () => {
  const LEN = 1000;

  it('serves a range that stops before the end as exactly [first, last]', () => {
    assert.deepEqual(resolve('bytes=100-199', LEN), { kind: 'partial', start: 100, end: 199 });
    assert.deepEqual(resolve('bytes=0-0', LEN), { kind: 'partial', start: 0, end: 0 });
    assert.deepEqual(resolve('bytes=999-999', LEN), { kind: 'partial', start: 999, end: 999 });
  });

  it('serves ranges that reach the end', () => {
    assert.deepEqual(resolve('bytes=100-', LEN), { kind: 'partial', start: 100, end: 999 });
    assert.deepEqual(resolve('bytes=-100', LEN), { kind: 'partial', start: 900, end: 999 });
    assert.deepEqual(resolve('bytes=100-5000', LEN), { kind: 'partial', start: 100, end: 999 });
    assert.deepEqual(resolve('bytes=1-18446744073709551615', LEN), { kind: 'partial', start: 1, end: 999 });
  });

  it('answers whole when the clamped range covers the resource', () => {
    assert.deepEqual(resolve('bytes=0-', LEN), { kind: 'whole' });
    assert.deepEqual(resolve('bytes=0-999', LEN), { kind: 'whole' });
    assert.deepEqual(resolve('bytes=0-5000', LEN), { kind: 'whole' });
    assert.deepEqual(resolve('bytes=-1000', LEN), { kind: 'whole' });
    assert.deepEqual(resolve('bytes=-1001', LEN), { kind: 'whole' }); // suffix larger than the resource
    assert.deepEqual(resolve('bytes=-18446744073709551615', LEN), { kind: 'whole' });
  });

  it('reports start ≥ length as unsatisfiable', () => {
    assert.deepEqual(resolve('bytes=1000-', LEN), { kind: 'unsatisfiable' });
    assert.deepEqual(resolve('bytes=1000-2000', LEN), { kind: 'unsatisfiable' });
    assert.deepEqual(resolve('bytes=9007199254740993-', LEN), { kind: 'unsatisfiable' });
    assert.deepEqual(resolve('bytes=18446744073709551615-18446744073709551615', LEN), { kind: 'unsatisfiable' });
    assert.deepEqual(resolve('bytes=-0', LEN), { kind: 'unsatisfiable' });
  });

  it('always answers whole for a zero-length resource', () => {
    for (const header of ['bytes=0-0', 'bytes=5-', 'bytes=-5', 'bytes=-0', 'bytes=0-1,2-3']) {
      assert.deepEqual(resolveRange(parseRange(header), 0, 'not-implemented'), { kind: 'whole' }, header);
    }
  });

  it('answers two to five ranges with whole, or 501 when asked to', () => {
    const two = parseRange('bytes=0-1,5-6');
    assert.deepEqual(resolveRange(two, LEN, 'whole'), { kind: 'whole' });
    assert.deepEqual(resolveRange(two, LEN, 'not-implemented'), { kind: 'multi-not-implemented' });
    const five = parseRange('bytes=0-1,2-3,4-5,6-7,8-9');
    assert.deepEqual(resolveRange(five, LEN, 'not-implemented'), { kind: 'multi-not-implemented' });
  });

  it('answers whole when the header was ignored (six ranges) or absent', () => {
    const six = parseRange('bytes=0-1,2-3,4-5,6-7,8-9,10-11');
    assert.deepEqual(resolveRange(six, LEN, 'not-implemented'), { kind: 'whole' });
    assert.deepEqual(resolveRange(undefined, LEN, 'not-implemented'), { kind: 'whole' });
    assert.deepEqual(resolveRange([], LEN, 'not-implemented'), { kind: 'whole' });
  });

  it('handles resources beyond 2^32 bytes exactly', () => {
    const big = 2 ** 40 + 3;
    assert.deepEqual(resolve('bytes=-2', big), { kind: 'partial', start: big - 2, end: big - 1 });
    assert.deepEqual(resolve('bytes=4294967296-4294967297', big), { kind: 'partial', start: 2 ** 32, end: 2 ** 32 + 1 });
  });

  it('refuses a length that is not a safe non-negative integer', () => {
    assert.throws(() => resolveRange(undefined, -1, 'whole'), RangeError);
    assert.throws(() => resolveRange(undefined, 1.5, 'whole'), RangeError);
    assert.throws(() => resolveRange(undefined, 2 ** 53, 'whole'), RangeError);
  });
});

describe('Content-Range values', () => {
  it('formats 206 and 416 values', () => {
    assert.equal(contentRangeHeader(100, 199, 1000), 'bytes 100-199/1000');
    assert.equal(contentRangeHeader(0, 0, 1), 'bytes 0-0/1');
    assert.equal(unsatisfiableRangeHeader(1000), 'bytes */1000');
  });
});
