/**
 * The framing of a dedicated web server's link (src/web/link-frames.ts): frames written by an
 * Outbox come out of a FrameReader the same, however the byte stream is cut into reads; DATA
 * payloads arrive whole once their pieces are joined; a malformed head is refused.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FRAME, FrameReader, Outbox } from '../../src/web/link-frames.js';

interface Seen {
  readonly type: number;
  readonly stream: number;
  readonly payload: string;
}

/** Reads `bytes` cut at `cuts`, joining DATA pieces per stream until the next frame. */
function readAll(bytes: Buffer, cuts: readonly number[]): Seen[] {
  const seen: Seen[] = [];
  const reader = new FrameReader(
    (stream, piece) => {
      const last = seen.at(-1);
      if (last?.type === FRAME.DATA && last.stream === stream && pendingData) seen[seen.length - 1] = { ...last, payload: last.payload + piece.toString('latin1') };
      else seen.push({ type: FRAME.DATA, stream, payload: piece.toString('latin1') });
      pendingData = true;
    },
    (type, stream, payload) => {
      pendingData = false;
      seen.push({ type, stream, payload: payload.toString('latin1') });
    },
  );
  let pendingData = false;
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= bytes.length) continue;
    reader.push(bytes.subarray(at, cut));
    at = cut;
  }
  reader.push(bytes.subarray(at));
  return seen;
}

/** What an Outbox writes for `frames`, gathered from its socket. */
async function written(frames: readonly Seen[]): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const outbox = new Outbox(sink as unknown as Socket);
  for (const f of frames) outbox.send(f.type as 1, f.stream, f.payload === '' ? undefined : Buffer.from(f.payload, 'latin1'));
  await new Promise((r) => setImmediate(r));
  return Buffer.concat(chunks);
}

void describe('link frames', () => {
  void it('come out as they went in, however the stream is cut', async () => {
    const frame = fc.oneof(
      fc.record({ type: fc.constant<number>(FRAME.DATA), stream: fc.integer({ min: 1, max: 2 ** 32 - 1 }), payload: fc.string({ minLength: 1, maxLength: 6000 }) }),
      fc.record({ type: fc.constantFrom<number>(FRAME.OPEN, FRAME.HELLO, FRAME.ACK), stream: fc.nat(9), payload: fc.string({ maxLength: 300 }) }),
      fc.record({ type: fc.constantFrom<number>(FRAME.END, FRAME.CLOSE), stream: fc.nat(9), payload: fc.constant('') }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { maxLength: 12 }), fc.array(fc.nat(80_000), { maxLength: 40 }), async (frames, cuts) => {
        // A DATA frame right after another of the same stream would read as one: keep them apart.
        const distinct = frames.filter((f, i) => !(f.type === FRAME.DATA && frames[i - 1]?.type === FRAME.DATA && frames[i - 1]?.stream === f.stream));
        const latin1 = distinct.map((f) => ({ ...f, payload: Buffer.from(f.payload, 'utf8').toString('latin1') }));
        assert.deepEqual(readAll(await written(latin1), cuts), latin1);
      }),
      { numRuns: 200 },
    );
  });

  void it('a frame of an unknown type, or a control frame too long, is refused', () => {
    const head = (type: number, length: number): Buffer => {
      const b = Buffer.alloc(9);
      b[0] = type;
      b.writeUInt32BE(1, 1);
      b.writeUInt32BE(length, 5);
      return b;
    };
    const reader = (): FrameReader => new FrameReader(() => undefined, () => undefined);
    assert.throws(() => reader().push(head(0, 0)), /malformed link frame/);
    assert.throws(() => reader().push(head(99, 0)), /malformed link frame/);
    assert.throws(() => reader().push(head(FRAME.OPEN, 1 << 20)), /malformed link frame/);
    assert.doesNotThrow(() => reader().push(head(FRAME.DATA, 1 << 20)));
  });
});
