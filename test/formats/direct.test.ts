/**
 * Rhizome Direct's byte formats: the BAR (log2 of the size, 56-bit version, the reference's
 * constant geobox), the 10-byte range and 16-byte records, and peer addresses as the reference's
 * `rhizome direct` and `rhizome.direct.peer.N` take them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BAR_BYTES, barPrefix, barVersion, encodeBar, log2Floor } from '../../src/formats/bar.js';
import { formatPeer, parsePeerUrl } from '../../src/formats/direct-peer.js';
import { encodeRecord, parseRecords, pickleRange, unpickleRange } from '../../src/formats/direct-wire.js';

describe('BAR', () => {
  it('is the BID prefix, log2 of the size (0xFF for none), the low 56 bits of the version, the whole world, TTL 0', () => {
    const bid = Buffer.from('17F318DE913EFE6B86D3C6D9767E5FBD183DAA5FF1E7D4205557E266C2CF0CA6', 'hex');
    const bar = encodeBar(bid, 60n, 1700000000060n);
    assert.equal(bar.length, BAR_BYTES);
    // As servald's client sent it for this bundle (test/vectors/direct/sessions).
    assert.equal(bar.toString('hex'), '17f318de913efe6b86d3c6d9767e5f0500018bcfe5683c00000000fff0fff000');
    assert.equal(encodeBar(bid, 0n, 1n)[15], 0xff);
    // Only the low 56 bits: 2^60 + 5 is carried as 5.
    assert.equal(barVersion(encodeBar(bid, 1n, (1n << 60n) + 5n)), 5n);
    assert.ok(barPrefix(bar).equals(bid.subarray(0, 15)));
    assert.deepEqual([0n, 1n, 2n, 3n, 1024n, 1025n, 2n ** 48n].map(log2Floor), [-1, 0, 1, 1, 10, 10, 48]);
  });
});

describe('ranges and records', () => {
  it('pickles a range as the log2 of its sizes and 4 bytes of its BIDs, and reads it back as the answerer does', () => {
    const low = Buffer.alloc(32, 0x11);
    const high = Buffer.alloc(32, 0xee);
    const range = pickleRange({ startSizeHigh: 1024n, startBidLow: low, endSizeHigh: 2n ** 49n, endBidHigh: high });
    assert.equal(range.toString('hex'), '0a1111111131eeeeeeee');
    const r = unpickleRange(range);
    assert.equal(r.sizeHigh, 1024n);
    assert.equal(r.limitSizeHigh, 2n ** 49n);
    assert.equal(r.bidLow.toString('hex'), `11111111${'00'.repeat(28)}`);
    assert.equal(r.limitBidHigh.toString('hex'), `eeeeeeee${'ff'.repeat(28)}`);
    assert.equal(unpickleRange(Buffer.from('ff00000000ff00000000', 'hex')).sizeHigh, 2n ** 255n);
  });

  it('reads 16-byte records after the range, ignoring a partial one', () => {
    const answer = Buffer.concat([Buffer.alloc(10), encodeRecord(1, Buffer.alloc(15, 1)), encodeRecord(2, Buffer.alloc(15, 2)), Buffer.alloc(7)]);
    assert.deepEqual(
      parseRecords(answer).map((r) => [r.type, r.prefix.toString('hex')]),
      [
        [1, '01'.repeat(15)],
        [2, '02'.repeat(15)],
      ],
    );
  });
});

describe('peer addresses', () => {
  it('takes host[:port] and http://host[:port][/…] (port 4110 by default), and https for Tendril peers', () => {
    const cases: Array<[string, string | undefined]> = [
      ['127.0.0.1', 'http://127.0.0.1:4110'],
      ['node.local:4567', 'http://node.local:4567'],
      ['http://10.0.0.2', 'http://10.0.0.2:4110'],
      ['HTTP://10.0.0.2:80/ignored/path', 'http://10.0.0.2:80'],
      ['https://mesh.example.org:8443', 'https://mesh.example.org:8443'],
      ['http://[::1]:4110', 'http://[::1]:4110'],
      ['ftp://example.org', undefined],
      ['http://example.org:0', undefined],
      ['http://example.org:99999', undefined],
      ['', undefined],
      ['user@host', undefined],
    ];
    for (const [text, expected] of cases) {
      const address = parsePeerUrl(text);
      assert.equal(address === undefined ? undefined : formatPeer(address), expected, text);
    }
  });
});
