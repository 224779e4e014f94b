/**
 * Tendril sync's range-based set reconciliation (src/services/sync/reconcile/) in memory, with
 * random sets: whatever the two sides hold, a session finds exactly the bundles each must send the
 * other (missing, or a newer version), nothing more, in O(log n) rounds; and the wire codec of its
 * messages round-trips and refuses malformed bodies.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SyncItem } from '../../src/services/sync/reconcile/fingerprint.js';
import { FingerprintIndex } from '../../src/services/sync/reconcile/fingerprint-index.js';
import { child, children, contains, isCanonical, lowerBound, prefixOf, ROOT, upperBound, type Prefix } from '../../src/services/sync/reconcile/prefix.js';
import {
  answerRange,
  DEFAULT_RECONCILE,
  memorySource,
  openingRanges,
  type IdEntry,
  type ItemSource,
  type RangeEntry,
  type ReconcileOptions,
} from '../../src/services/sync/reconcile/reconciler.js';
import { FrameError, FrameReader, encodeFrame } from '../../src/services/sync/wire/frames.js';
import { decodeRecon, decodeRequest, decodeWant, encodeRange, encodeRecon, encodeRequest, encodeWant } from '../../src/services/sync/wire/messages.js';

interface Side {
  readonly source: ItemSource;
  readonly items: Map<string, SyncItem>;
  /** bid hex → version this side sent to the other. */
  readonly sent: Map<string, bigint>;
}

function side(items: readonly SyncItem[]): Side {
  const sorted = [...items].sort((a, b) => a.bid.compare(b.bid));
  return { source: memorySource(sorted), items: new Map(sorted.map((it) => [it.bid.toString('hex'), it])), sent: new Map() };
}

/**
 * Runs a whole session between two sides as the link does: messages alternate, each answers every
 * range of the previous one, and a message without fingerprints ends the session. Returns the
 * number of messages and the bytes their ranges took on the wire.
 */
async function reconcile(a: Side, b: Side, options: ReconcileOptions = DEFAULT_RECONCILE): Promise<{ messages: number; bytes: number }> {
  const diffsOf = (me: Side, peer: Side) => ({
    offer: (item: SyncItem) => {
      me.sent.set(item.bid.toString('hex'), item.version);
      return Promise.resolve();
    },
    want: (id: IdEntry) => {
      // The peer answers a WANT with its item of that id prefix.
      const theirs = [...peer.items.values()].find((it) => it.bid.subarray(0, 16).equals(id.bid16));
      assert.ok(theirs, 'wanted an item the peer does not hold');
      assert.equal(theirs.version, id.version);
      peer.sent.set(theirs.bid.toString('hex'), theirs.version);
      return Promise.resolve();
    },
  });
  let message: RangeEntry[] = await openingRanges(a.source, options);
  let bytes = message.reduce((n, r) => n + encodeRange(r).length, 0);
  let messages = 1;
  let [me, peer] = [b, a];
  for (;;) {
    // Through the codec, as on the wire.
    message = decodeRecon(encodeRecon(1, message.map(encodeRange))).ranges;
    const needsReply = message.some((r) => r.kind === 'fingerprint');
    const reply: RangeEntry[] = [];
    for (const range of message) reply.push(...(await answerRange(me.source, range, diffsOf(me, peer), options)));
    if (!needsReply) {
      assert.equal(reply.length, 0);
      return { messages, bytes };
    }
    message = reply;
    bytes += reply.reduce((n, r) => n + encodeRange(r).length, 0);
    messages++;
    assert.ok(messages < 40, 'session does not end');
    [me, peer] = [peer, me];
  }
}

/** What each side must send: every item the other lacks or holds an older version of. */
function expected(from: Side, to: Side): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [hex, item] of from.items) {
    const theirs = to.items.get(hex);
    if (theirs === undefined || theirs.version < item.version) out.set(hex, item.version);
  }
  return out;
}

const bid = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));
const version = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n });
const item = fc.record({ bid, version });

/** Two sets sharing some items, with some shared ids at different versions. */
const twoSets = fc
  .record({
    common: fc.array(item, { maxLength: 300 }),
    onlyA: fc.array(item, { maxLength: 60 }),
    onlyB: fc.array(item, { maxLength: 60 }),
    bumped: fc.array(fc.tuple(fc.nat(), version, fc.boolean()), { maxLength: 20 }),
  })
  .map(({ common, onlyA, onlyB, bumped }) => {
    const a = new Map<string, SyncItem>();
    const b = new Map<string, SyncItem>();
    for (const it of common) {
      a.set(it.bid.toString('hex'), it);
      b.set(it.bid.toString('hex'), it);
    }
    for (const it of onlyA) a.set(it.bid.toString('hex'), it);
    for (const it of onlyB) b.set(it.bid.toString('hex'), it);
    const shared = [...a.keys()].filter((k) => b.has(k));
    for (const [n, v, onA] of bumped) {
      if (shared.length === 0) break;
      const key = shared[n % shared.length]!;
      const target = onA ? a : b;
      target.set(key, { bid: target.get(key)!.bid, version: v });
    }
    return { a: [...a.values()], b: [...b.values()] };
  });

void describe('sync reconciliation: properties', () => {
  void it('finds exactly what each side must send, whatever the two sets', async () => {
    await fc.assert(
      fc.asyncProperty(twoSets, fc.constantFrom<ReconcileOptions>(DEFAULT_RECONCILE, { listMax: 2, leafListMax: 0 }, { listMax: 0, leafListMax: 0 }), async ({ a, b }, options) => {
        const A = side(a);
        const B = side(b);
        await reconcile(A, B, options);
        assert.deepEqual(A.sent, expected(A, B));
        assert.deepEqual(B.sent, expected(B, A));
      }),
      { numRuns: 150 },
    );
  });

  void it('ends in one message when both sides hold the same set, and exchanges nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(item, { maxLength: 200 }), async (items) => {
        const A = side(items);
        const B = side(items);
        const { messages } = await reconcile(A, B);
        assert.ok(messages <= 2);
        assert.equal(A.sent.size + B.sent.size, 0);
      }),
      { numRuns: 50 },
    );
  });

  void it('finds 10 differences among 20,000 items in at most 4 messages each way, in bytes proportional to the differences', async () => {
    const common = Array.from({ length: 20_000 }, () => ({ bid: randomBytes(32), version: 1n }));
    const extra = Array.from({ length: 10 }, () => ({ bid: randomBytes(32), version: 1n }));
    const A = side([...common, ...extra.slice(0, 5)]);
    const B = side([...common, ...extra.slice(5)]);
    const { messages, bytes } = await reconcile(A, B);
    assert.equal(A.sent.size, 5);
    assert.equal(B.sent.size, 5);
    assert.ok(messages <= 8, `${messages} messages`);
    assert.ok(bytes < 20_000, `${bytes} bytes`);
  });

  void it('sends everything when one side is empty, in one round trip', async () => {
    const items = Array.from({ length: 500 }, () => ({ bid: randomBytes(32), version: 7n }));
    for (const [full, empty] of [
      [side(items), side([])],
      [side([]), side(items)],
    ] as const) {
      const { messages } = await reconcile(full, empty);
      assert.ok(messages <= 2);
      assert.equal(full.sent.size + empty.sent.size, 500);
    }
  });
});

void describe('sync reconciliation: the fingerprint index', () => {
  /** A mutable store of keys, read as RhizomeStore.keys() reads. */
  function keyStore(initial: readonly SyncItem[]) {
    const map = new Map(initial.map((it) => [it.bid.toString('hex'), it]));
    const sorted = () => [...map.values()].sort((a, b) => a.bid.compare(b.bid));
    return {
      map,
      sorted,
      keys: (from: Buffer, before: Buffer | undefined, limit: number) =>
        Promise.resolve(sorted().filter((it) => it.bid.compare(from) >= 0 && (before === undefined || it.bid.compare(before) < 0)).slice(0, limit)),
    };
  }
  const prefix = fc.tuple(bid, fc.integer({ min: 0, max: 7 })).map(([b, d]) => prefixOf(b, d));

  void it('agrees with a fresh count of the store for every range, across changes it was told of', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(item, { maxLength: 200 }), fc.array(item, { maxLength: 30 }), fc.array(prefix, { minLength: 1, maxLength: 8 }), async (initial, changes, prefixes) => {
        const store = keyStore(initial);
        const index = new FingerprintIndex(store.keys);
        const check = async () => {
          const truth = memorySource(store.sorted());
          for (const p of [ROOT, ...prefixes]) {
            assert.deepEqual(await index.summary(p), await truth.summary(p));
            if (p.depth < 32) assert.deepEqual(await index.childSummaries(p), await truth.childSummaries(p));
          }
        };
        await check();
        for (const change of changes) {
          // A new bundle, or a new version of a held one (same id).
          const existing = [...store.map.values()][Number(change.version % 7n)];
          const next = existing && change.version % 2n === 0n ? { bid: existing.bid, version: change.version } : change;
          store.map.set(next.bid.toString('hex'), next);
          index.touch(next.bid);
        }
        await check();
      }),
      { numRuns: 60 },
    );
  });
});

void describe('sync reconciliation: prefixes', () => {
  const prefix = fc.tuple(bid, fc.integer({ min: 0, max: 32 })).map(([b, d]) => prefixOf(b, d));

  void it('splits a range into 16 disjoint sub-ranges that cover it', () => {
    fc.assert(
      fc.property(prefix.filter((p) => p.depth < 32), bid, (p, b) => {
        const inside = contains(p, b);
        const hits = children(p).filter((c) => contains(c, b)).length;
        assert.equal(hits, inside ? 1 : 0);
        for (const c of children(p)) assert.ok(isCanonical(c));
      }),
    );
  });

  void it('bounds a range by its first id and the first id after it', () => {
    fc.assert(
      fc.property(prefix, bid, (p: Prefix, b) => {
        const hi = upperBound(p);
        const between = b.compare(lowerBound(p)) >= 0 && (hi === undefined || b.compare(hi) < 0);
        assert.equal(between, contains(p, b));
      }),
    );
    assert.equal(upperBound(ROOT), undefined);
    assert.equal(upperBound(child(ROOT, 15)), undefined);
    assert.equal(upperBound(child(ROOT, 14))!.toString('hex').slice(0, 2), 'f0');
  });
});

void describe('sync wire codec', () => {
  void it('reassembles frames split anywhere and refuses lengths out of bounds', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), fc.array(fc.nat({ max: 400 }), { maxLength: 20 }), (bodies, cuts) => {
        const wire = Buffer.concat(bodies.map((b, i) => encodeFrame(i % 256, Buffer.from(b))));
        const reader = new FrameReader();
        const got: Buffer[] = [];
        let at = 0;
        for (const cut of [...cuts, wire.length]) {
          const end = Math.min(wire.length, at + cut);
          for (const f of reader.push(wire.subarray(at, end))) got.push(Buffer.from(f.body));
          at = end;
        }
        assert.deepEqual(got.map((b) => b.toString('hex')), bodies.map((b) => Buffer.from(b).toString('hex')));
        assert.ok(reader.idle);
      }),
    );
    assert.throws(() => new FrameReader().push(Buffer.from([0, 0, 0, 0, 1])), FrameError);
    assert.throws(() => new FrameReader(100).push(Buffer.from([0, 0, 0, 200, 1])), FrameError);
  });

  void it('round-trips requests and wants', () => {
    fc.assert(
      fc.property(fc.nat(), bid, version, fc.nat(), fc.integer({ min: 1, max: 2 ** 40 }), (id, b, v, offset, length) => {
        assert.deepEqual(decodeRequest(encodeRequest({ id, bid: b, version: v, offset, length })), { id, bid: b, version: v, offset, length });
      }),
    );
    const wants = [{ bid16: randomBytes(16), version: 5n }];
    assert.deepEqual(decodeWant(encodeWant(wants)), wants);
  });

  void it('turns any malformed RECON body into a FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeRecon(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof FrameError, String(err));
        }
      }),
      { numRuns: 500 },
    );
    // Depth past 32 digits, digits past the depth, unsorted lists, items outside their range.
    assert.throws(() => decodeRecon(Buffer.from([0, 33, ...Buffer.alloc(17), 0, ...Buffer.alloc(16)])), FrameError);
    assert.throws(() => decodeRecon(Buffer.from([0, 1, 0x11, 0, ...Buffer.alloc(16)])), FrameError);
    const a = Buffer.alloc(16, 2);
    const b = Buffer.alloc(16, 1);
    assert.throws(() => decodeRecon(Buffer.from([0, 0, 1, 2, ...a, 1, ...b, 1])), /not sorted/);
    assert.throws(() => decodeRecon(Buffer.from([0, 1, 0x10, 1, 1, ...a, 1])), /outside its range/);
  });
});
