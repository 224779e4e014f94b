/**
 * Rhizome Direct's four routes, answered as servald answers them (rhizome_direct_http.c,
 * rhizome_http.c): the statuses, reason phrases and bodies its clients (servald's
 * `rhizome direct`, LBARD, Tendril's own) read. Results are the reference's HTML status pages
 * (the family's resultFormat), bodies application/octet-stream, every answer with its length.
 *
 * Where Tendril answers differently, on purpose, docs/rhizome-direct.md says so: an import is
 * answered as soon as its outcome is certain (the rest of the body is read and discarded), a
 * payload longer or shorter than its manifest says is refused (422), and the data part must follow
 * the manifest part.
 */
import { fail } from '../../errors.js';
import { isHex } from '../../formats/hex.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../../formats/manifest.js';
import type { DirectService } from '../../services/direct/types.js';
import { isAnswerable } from '../../services/direct/enquiry.js';
import { MAX_ENQUIRY_BYTES } from '../../formats/direct-wire.js';
import { BundleStatus, bundleStatusMessage, httpStatusOf, PayloadStatus, payloadStatusMessage } from '../../services/rhizome/status.js';
import type { ImportSession, RhizomeReply } from '../../services/rhizome/types.js';
import { formParts, partName } from '../form.js';
import type { FormPart } from '../multipart.js';
import { contentRangeHeader, parseRange, resolveRange, unsatisfiableRangeHeader } from '../range.js';
import type { Handler, RequestContext, Result } from '../types.js';
import { jsonResult } from '../types.js';

const OCTETS = 'application/octet-stream';
const MISSING_MANIFEST = "Missing 'manifest' part";
const MISSING_DATA = "Missing 'data' part";
const NO_RESPONSE = 'Internal Error: No response to enquiry';

const status = (code: number, reason: string): Result => jsonResult(code, reason);

function octets(body: Buffer): Result {
  return { kind: 'body', status: 200, reason: 'OK', contentType: OCTETS, body, length: body.length };
}

/** The parts servald takes as the payload (`data`, and `payload` as the REST API names it). */
const isDataPart = (name: string): boolean => name === 'data' || name === 'payload';

/** Reads at most `max` bytes of a part; undefined if it holds more (the rest is skipped). */
async function readAtMost(part: FormPart, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of part.body) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * An import's outcome as servald's direct import reports it: the bundle status alone, its message
 * as the reason (rhizome_bundle_import_files knows no payload statuses: a payload that does not fit
 * is "no room", one that does not match is "inconsistent", a signature that fails is "invalid").
 */
function importResult(reply: RhizomeReply): Result {
  const { bundle, payload } = reply.outcome;
  let s: BundleStatus;
  if (payload === PayloadStatus.TOO_BIG || payload === PayloadStatus.EVICTED) s = BundleStatus.NO_ROOM;
  else if (payload === PayloadStatus.WRONG_SIZE || payload === PayloadStatus.WRONG_HASH) s = BundleStatus.INCONSISTENT;
  else if (bundle === BundleStatus.FAKE) s = BundleStatus.INVALID;
  else s = bundle ?? BundleStatus.ERROR;
  return status(httpStatusOf({ bundle: s }).status, bundleStatusMessage(s));
}

/** Feeds the parts of a direct import to the session; a result as soon as the outcome is certain. */
async function runImport(ctx: RequestContext, session: ImportSession): Promise<Result> {
  let manifest = false;
  let data = false;
  let declared = 0n;
  for await (const part of formParts(ctx)) {
    const name = partName(part);
    if (name === 'manifest') {
      if (manifest) fail('FORM_DUPLICATE_PART', { arg: name });
      manifest = true;
      const bytes = await readAtMost(part, MAX_MANIFEST_BYTES);
      if (bytes === undefined) return importResult({ outcome: { bundle: BundleStatus.INVALID } });
      const early = await session.setManifest(bytes);
      if (early) return importResult(early);
      declared = parseManifest(bytes).filesize ?? 0n;
    } else if (isDataPart(name)) {
      if (data) fail('FORM_DUPLICATE_PART', { arg: name });
      data = true;
      // The manifest must come first: the payload streams into the store as it arrives, and only
      // the manifest says how long it may be.
      if (!manifest) return status(400, MISSING_MANIFEST);
      // A bundle without a payload ignores whatever the part holds, as servald does.
      if (!session.expectsPayload) continue;
      const refused = await session.openPayload();
      if (refused) return importResult(refused);
      let received = 0n;
      for await (const chunk of part.body) {
        received += BigInt(chunk.length);
        // More than the manifest says: a lying sender, answered at once rather than read on.
        if (received > declared) return importResult({ outcome: { bundle: BundleStatus.INCONSISTENT, payload: PayloadStatus.WRONG_SIZE } });
        await session.writePayload(chunk);
      }
    }
    // Any other part is skipped, as servald ignores it.
  }
  if (!manifest) return status(400, MISSING_MANIFEST);
  if (!data) return status(400, MISSING_DATA);
  return importResult(await session.finish());
}

export interface DirectHandlers {
  readonly enquiry: Handler;
  readonly import: Handler;
  readonly manifestByPrefix: Handler;
  readonly file: Handler;
}

export function directHandlers(direct: DirectService): DirectHandlers {
  return {
    async enquiry(ctx) {
      let data: Buffer | undefined;
      for await (const part of formParts(ctx)) {
        if (!isDataPart(partName(part))) continue;
        data = await readAtMost(part, MAX_ENQUIRY_BYTES);
        // More than an enquiry may hold (a flood of BARs): answered now, the rest is not read.
        if (data === undefined) return status(500, NO_RESPONSE);
      }
      if (data === undefined) return status(400, MISSING_DATA);
      // servald maps the part's file to read it: an empty one cannot be mapped.
      if (data.length === 0) return status(500, "Internal Error: Couldn't mmap file");
      if (!isAnswerable(data)) return status(500, NO_RESPONSE);
      return octets(await direct.enquiry(data));
    },

    async import(ctx) {
      const begun = await direct.beginImport();
      if ('outcome' in begun) return importResult(begun);
      try {
        return await runImport(ctx, begun);
      } finally {
        await begun.abort();
      }
    },

    async manifestByPrefix(ctx) {
      // strn_fromhex: whole hex pairs, 1 to 32 bytes, nothing after them; else 404.
      const text = ctx.params.prefix!;
      if (text.length % 2 !== 0 || text.length > 64 || !isHex(text, text.length / 2)) fail('HTTP_NOT_FOUND');
      const manifest = await direct.manifestByPrefix(Buffer.from(text, 'hex'));
      if (!manifest) fail('HTTP_NOT_FOUND');
      return octets(manifest);
    },

    async file(ctx) {
      // Node joins repeated headers with commas; the reference reads the first Range only.
      const header = ctx.req.headersDistinct.range?.[0];
      let ranges;
      try {
        ranges = header === undefined ? undefined : parseRange(header);
      } catch {
        return status(400, 'Bad Request');
      }
      if (ranges !== undefined && ranges.length > 1) return status(501, 'Not Implemented: Byte range sets');
      // An unparsable hash leaves servald's page without an answer: its generic 500.
      const hashText = ctx.params.hash!;
      if (!isHex(hashText, 64)) return status(500, 'Internal Server Error');
      const payload = await direct.payload(Buffer.from(hashText, 'hex'));
      const notFound = jsonResult(404, 'Payload not found', [
        ['rhizome_payload_status_code', PayloadStatus.NEW],
        ['rhizome_payload_status_message', payloadStatusMessage(PayloadStatus.NEW)],
      ]);
      if (!payload) return notFound;
      const range = resolveRange(ranges, payload.length, 'whole');
      if (range.kind === 'unsatisfiable') {
        return { kind: 'json', status: 416, headers: { 'Content-Range': unsatisfiableRangeHeader(payload.length) } };
      }
      const [start, end] = range.kind === 'partial' ? [range.start, range.end + 1] : [0, payload.length];
      const stream = await payload.open(start, end);
      if (!stream) return notFound;
      return {
        kind: 'body',
        // The reference keeps its 200's reason on a 206: "206 OK".
        status: range.kind === 'partial' ? 206 : 200,
        reason: 'OK',
        contentType: OCTETS,
        headers: range.kind === 'partial' ? { 'Content-Range': contentRangeHeader(range.start, range.end, payload.length) } : undefined,
        length: end - start,
        body: () => stream,
      };
    },
  };
}
