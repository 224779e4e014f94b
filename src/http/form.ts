/**
 * Form parts as REST handlers see them: the checks every handler makes on every part, in the
 * reference's order (spec §1.7): Content-Disposition present and of type `form-data` (415), then
 * the part name. `readFormParts` reads small named parts whole, with a size cap per part.
 */
import { fail } from '../errors.js';
import { parseMultipart, type FormPart } from './multipart.js';
import type { RequestContext } from './types.js';

/** The part's name, after the disposition checks every handler makes. */
export function partName(part: FormPart): string {
  const disposition = part.headers.contentDisposition;
  if (!disposition) fail('FORM_MISSING_DISPOSITION');
  if (disposition.type !== 'form-data') fail('FORM_UNSUPPORTED_DISPOSITION', { arg: disposition.type });
  return disposition.name ?? '';
}

/** The parts of the request body; none when the request has no body. */
export async function* formParts(ctx: RequestContext): AsyncGenerator<FormPart> {
  const boundary = ctx.contentType?.boundary;
  if (boundary === undefined) return;
  yield* parseMultipart(ctx.body(), boundary);
}

/** Reads a part body whole, failing with 400 "Overflow in …" beyond `maxBytes`. */
export async function readPart(part: FormPart, name: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of part.body) {
    size += chunk.length;
    if (size > maxBytes) fail('FORM_PART_OVERFLOW', { arg: name });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface PartRule {
  readonly maxBytes: number;
}

/**
 * Reads every part of a small form into memory: unknown names → 400 "Unsupported", repeats →
 * 400 "Duplicate", oversized → 400 "Overflow in".
 */
export async function readFormParts(ctx: RequestContext, rules: Readonly<Record<string, PartRule>>): Promise<Map<string, Buffer>> {
  const parts = new Map<string, Buffer>();
  for await (const part of formParts(ctx)) {
    const name = partName(part);
    const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
    if (!rule) fail('FORM_UNSUPPORTED_PART', { arg: name });
    if (parts.has(name)) fail('FORM_DUPLICATE_PART', { arg: name });
    parts.set(name, await readPart(part, name, rule.maxBytes));
  }
  return parts;
}
