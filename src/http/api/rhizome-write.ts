/**
 * Rhizome REST writes (spec §3.8 – §3.10): the multipart form of insert, append and import, part
 * by part, in the reference's order of checks. The service decides what the parts mean; this
 * file only enforces which parts may come, in what order, of what type and size.
 */
import { parseBundleSecret } from '../../crypto/bundle-keys.js';
import { fail } from '../../errors.js';
import { parseHex } from '../../formats/hex.js';
import { MAX_MANIFEST_BYTES } from '../../formats/manifest.js';
import type { AddSession, ImportSession, RhizomeService } from '../../services/rhizome/types.js';
import {
  CONTENT_TYPE_RHIZOME_BID_HEX,
  CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX,
  CONTENT_TYPE_RHIZOME_MANIFEST,
  CONTENT_TYPE_SID_HEX,
  sameContentType,
  type ContentType,
} from '../content-type.js';
import { formParts, partName, readPart } from '../form.js';
import type { FormPart } from '../multipart.js';
import type { Handler, RequestContext, Result } from '../types.js';
import { rhizomeResult } from './rhizome-reply.js';

/** `bundle-*` parts may omit their Content-Type; if present it must be exactly theirs (spec §1.8). */
function checkOptionalType(part: FormPart, name: string, expected: ContentType): void {
  const type = part.headers.contentType;
  if (type && !sameContentType(type, expected)) fail('FORM_UNSUPPORTED_PART_TYPE', { arg: name });
}

async function readHexPart(part: FormPart, name: string, bytes: number): Promise<Buffer> {
  const text = await readPart(part, name, bytes * 2);
  const value = parseHex(text.toString('latin1'), bytes);
  if (!value) fail('FORM_INVALID_PART', { arg: name });
  return value;
}

async function readManifestPart(part: FormPart): Promise<Buffer> {
  const type = part.headers.contentType;
  if (!type || !sameContentType(type, CONTENT_TYPE_RHIZOME_MANIFEST)) fail('FORM_UNSUPPORTED_PART_TYPE', { arg: 'manifest' });
  return readPart(part, 'manifest', MAX_MANIFEST_BYTES);
}

/** Streams a payload part into a session, chunk by chunk: nothing is buffered whole. */
async function streamPayload(part: FormPart, session: { writePayload(chunk: Buffer): Promise<void> }): Promise<void> {
  for await (const chunk of part.body) await session.writePayload(chunk);
}

async function add(ctx: RequestContext, session: AddSession): Promise<Result> {
  const seen = new Set<string>();
  const once = (name: string): void => {
    if (seen.has(name)) fail('FORM_DUPLICATE_PART', { arg: name });
    seen.add(name);
  };
  const beforeManifest = (name: string): void => {
    once(name);
    if (seen.has('manifest')) fail('FORM_SPURIOUS_PART', { arg: name });
  };
  for await (const part of formParts(ctx)) {
    const name = partName(part);
    switch (name) {
      case 'bundle-author':
        beforeManifest(name);
        checkOptionalType(part, name, CONTENT_TYPE_SID_HEX);
        session.setAuthor(await readHexPart(part, name, 32));
        break;
      case 'bundle-id':
        beforeManifest(name);
        checkOptionalType(part, name, CONTENT_TYPE_RHIZOME_BID_HEX);
        session.setBundleId(await readHexPart(part, name, 32));
        break;
      case 'bundle-secret': {
        beforeManifest(name);
        checkOptionalType(part, name, CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX);
        const secret = parseBundleSecret(await readPart(part, name, 80));
        if (!secret) fail('FORM_INVALID_PART', { arg: name });
        session.setSecret(secret);
        break;
      }
      case 'manifest': {
        once(name);
        const early = await session.setManifest(await readManifestPart(part));
        if (early) return rhizomeResult(early);
        break;
      }
      case 'payload': {
        once(name);
        if (!seen.has('manifest')) fail('FORM_MISSING_PART', { arg: 'manifest' });
        const early = await session.openPayload(part.headers.contentDisposition?.filename);
        if (early) return rhizomeResult(early);
        await streamPayload(part, session);
        break;
      }
      default:
        fail('FORM_UNSUPPORTED_PART', { arg: name });
    }
  }
  if (!seen.has('manifest')) fail('FORM_MISSING_PART', { arg: 'manifest' });
  if (!seen.has('payload')) fail('FORM_MISSING_PART', { arg: 'payload' });
  return rhizomeResult(await session.finish());
}

async function importBundle(ctx: RequestContext, session: ImportSession): Promise<Result> {
  const seen = new Set<string>();
  for await (const part of formParts(ctx)) {
    const name = partName(part);
    if (name !== 'manifest' && name !== 'payload') fail('FORM_UNSUPPORTED_PART', { arg: name });
    if (seen.has(name)) fail('FORM_DUPLICATE_PART', { arg: name });
    seen.add(name);
    if (name === 'manifest') {
      const early = await session.setManifest(await readManifestPart(part));
      if (early) return rhizomeResult(early);
      continue;
    }
    if (!seen.has('manifest')) fail('FORM_MISSING_PART', { arg: 'manifest' });
    if (!session.expectsPayload) fail('FORM_SPURIOUS_PART', { arg: 'payload' });
    const early = await session.openPayload();
    if (early) return rhizomeResult(early);
    await streamPayload(part, session);
  }
  if (!seen.has('manifest')) fail('FORM_MISSING_PART', { arg: 'manifest' });
  // A zero-length bundle has no payload part to send (the reference cannot import one).
  if (session.expectsPayload && !seen.has('payload')) fail('FORM_MISSING_PART', { arg: 'payload' });
  return rhizomeResult(await session.finish());
}

/** Runs a session, discarding its partial payload whatever happens. */
async function withSession<S extends { abort(): Promise<void> }>(session: S, run: (s: S) => Promise<Result>): Promise<Result> {
  try {
    return await run(session);
  } finally {
    await session.abort();
  }
}

const UINT64 = /^\d{1,20}$/;

export interface RhizomeWriteHandlers {
  readonly insert: Handler;
  readonly append: Handler;
  readonly import: Handler;
}

export function rhizomeWriteHandlers(rhizome: RhizomeService): RhizomeWriteHandlers {
  return {
    insert: (ctx) => withSession(rhizome.beginAdd(false), (s) => add(ctx, s)),
    append: (ctx) => withSession(rhizome.beginAdd(true), (s) => add(ctx, s)),
    async import(ctx) {
      const idText = ctx.queryValue('id');
      const versionText = ctx.queryValue('version');
      const reject = (reason: string): Result => rhizomeResult({ outcome: { http: 400, reason } });
      if (idText !== undefined && versionText === undefined) return reject('Missing "version" parameter');
      if (idText === undefined && versionText !== undefined) return reject('Missing "id" parameter');
      let expected;
      if (idText !== undefined && versionText !== undefined) {
        const id = parseHex(idText, 32);
        if (!id) return reject('Invalid "id" parameter');
        if (!UINT64.test(versionText) || BigInt(versionText) >= 2n ** 64n) return reject('Invalid "version" parameter');
        expected = { id, version: BigInt(versionText) };
      }
      const begun = await rhizome.beginImport(expected);
      // The store already has it: answer before the body, without 100 Continue (spec §3.10).
      if ('outcome' in begun) return rhizomeResult(begun);
      return withSession(begun, (s) => importBundle(ctx, s));
    },
  };
}
