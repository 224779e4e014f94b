/**
 * The `message` form part of MeshMS and MeshMB sends (spec §4.7, §5.3): the only part allowed
 * (others are 415 here, unlike Rhizome's 400), exactly once, `text/plain; charset=utf-8` checked
 * in the reference's order, not empty, and short enough to fit a ply record.
 */
import { fail } from '../errors.js';
import { MAX_MESSAGE_BYTES, MAX_RECORD_CONTENT } from '../formats/ply.js';
import type { ContentType } from './content-type.js';
import { formParts, partName, readPart } from './form.js';
import type { FormPart } from './multipart.js';
import type { RequestContext } from './types.js';

/** The reference's rendering of a part's Content-Type in its error reasons. */
function describeType(t: ContentType): string {
  return `${t.type}/${t.subtype}${t.charset ? `; charset=${t.charset}` : ''}${t.boundary ? `; boundary=${t.boundary}` : ''}`;
}

function checkTextPart(part: FormPart): void {
  const type = part.headers.contentType;
  if (!type) fail('FORM_MISSING_PART_TYPE', { reason: 'Missing Content-Type:' });
  const described = describeType(type);
  if (type.type !== 'text' || type.subtype !== 'plain') fail('FORM_UNSUPPORTED_CONTENT_TYPE', { arg: described });
  if (!type.charset) fail('FORM_MISSING_CHARSET', { arg: described });
  if (type.charset !== 'utf-8') fail('FORM_UNSUPPORTED_CHARSET', { arg: described });
}

/** Reads the message; the text is what precedes its first NUL, as the reference stores it. */
export async function readMessagePart(ctx: RequestContext): Promise<Buffer> {
  let message: Buffer | undefined;
  for await (const part of formParts(ctx)) {
    const name = partName(part);
    if (name !== 'message') fail('FORM_UNSUPPORTED_PART_415', { arg: name });
    if (message !== undefined) fail('FORM_DUPLICATE_PART', { arg: name });
    checkTextPart(part);
    // The reference's form limit is one record's content (4095 bytes)…
    message = await readPart(part, name, MAX_RECORD_CONTENT);
    if (message.length === 0) fail('FORM_EMPTY_PART', { arg: name });
  }
  if (message === undefined) fail('FORM_MISSING_PART', { arg: 'message' });
  // …but text ‖ NUL must fit one: 4095 bytes of text would abort the reference. Refused here with
  // the same 400 one byte more gets.
  const nul = message.indexOf(0);
  if ((nul === -1 ? message.length : nul) > MAX_MESSAGE_BYTES) fail('FORM_PART_OVERFLOW', { arg: 'message' });
  return message;
}
