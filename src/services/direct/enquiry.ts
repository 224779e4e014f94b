/**
 * The answer to a Rhizome Direct enquiry (rhizome_direct_get_fill_response): the asker sent its
 * BARs for one range of the walk; the answerer lists its own BARs for the same range and walks
 * both lists in step, emitting 0x01 "send me this" for each of the asker's BARs it does not match
 * and 0x02 "I have this" for each of its own the asker did not list. BARs match when their first
 * 31 bytes are equal, so two versions of one bundle draw one record each way, and the older one
 * is refused when it arrives (202).
 *
 * The answer's range is the answerer's own: where its walk of the asker's range stopped.
 */
import { BAR_BYTES, BAR_COMPARE_BYTES, barPrefix, barVersion, encodeBar } from '../../formats/bar.js';
import { encodeRecord, MAX_ENQUIRY_BYTES, RANGE_BYTES, RECORD_HAVE, RECORD_SEND } from '../../formats/direct-wire.js';
import { ANSWERER_BARS, BarCursor, type BarSource } from './cursor.js';

/** True when `data` is an enquiry the reference answers (10 to 65,536 bytes). */
export function isAnswerable(data: Uint8Array): boolean {
  return data.length >= RANGE_BYTES && data.length <= MAX_ENQUIRY_BYTES;
}

export async function answerEnquiry(data: Buffer, source: BarSource): Promise<Buffer> {
  if (!isAnswerable(data)) throw new RangeError(`an enquiry is ${RANGE_BYTES} to ${MAX_ENQUIRY_BYTES} bytes`);
  const fill = await BarCursor.fromRange(data.subarray(0, RANGE_BYTES)).fill(source, ANSWERER_BARS);
  const ours = fill.entries.map((e) => encodeBar(e.bid, e.filesize, e.version));
  const theirCount = Math.floor((data.length - RANGE_BYTES) / BAR_BYTES);
  const theirs = (i: number): Buffer => data.subarray(RANGE_BYTES + i * BAR_BYTES, RANGE_BYTES + (i + 1) * BAR_BYTES);
  const out: Buffer[] = [fill.range];
  let them = 0;
  let us = 0;
  while (them < theirCount || us < ours.length) {
    let relation: number;
    if (them < theirCount && us < ours.length) {
      relation = Buffer.compare(theirs(them).subarray(0, BAR_COMPARE_BYTES), ours[us]!.subarray(0, BAR_COMPARE_BYTES));
    } else {
      relation = us === ours.length ? -1 : 1;
    }
    if (relation < 0) {
      out.push(encodeRecord(RECORD_SEND, barPrefix(theirs(them))));
      them++;
    } else if (relation > 0) {
      out.push(encodeRecord(RECORD_HAVE, barPrefix(ours[us]!)));
      us++;
    } else {
      // Equal over 31 bytes, so equal versions too (the reference still compares them).
      const theirVersion = barVersion(theirs(them));
      const ourVersion = barVersion(ours[us]!);
      if (theirVersion > ourVersion) out.push(encodeRecord(RECORD_SEND, barPrefix(theirs(them))));
      else if (theirVersion < ourVersion) out.push(encodeRecord(RECORD_HAVE, barPrefix(ours[us]!)));
      them++;
      us++;
    }
  }
  return Buffer.concat(out);
}
