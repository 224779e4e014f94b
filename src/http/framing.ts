/**
 * Body framing rules, checked before routing and before credentials exactly as the reference does
 * (spec §1.6): an unauthenticated POST with a text/plain body gets 415, not 401, and a GET that
 * carries a Content-Type gets 400.
 */
import type { IncomingMessage } from 'node:http';
import { fail } from '../errors.js';
import { parseContentType, type ContentType } from './content-type.js';

/** True when a request says nothing of its length: no Content-Length and not chunked. */
export function isUnframed(req: IncomingMessage): boolean {
  return req.headers['content-length'] === undefined && !/^\s*chunked/i.test(req.headers['transfer-encoding'] ?? '');
}

/**
 * Checks the framing rules; returns the multipart Content-Type of a POST with a body (undefined
 * for any other request). `rawBody`: the family's POST bodies are of that media type instead.
 */
export function checkFraming(req: IncomingMessage, rawBody?: string): ContentType | undefined {
  const method = req.method ?? 'GET';
  // Node's parser has already refused a malformed or contradictory Content-Length.
  const te = req.headers['transfer-encoding'];
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || (te !== undefined && /^\s*chunked/i.test(te));
  const typeHeader = req.headers['content-type'];

  if (method === 'GET') {
    if (hasBody) fail('HTTP_BODY_NOT_ALLOWED', { arg: 'GET' });
    if (typeHeader !== undefined) fail('HTTP_BAD_REQUEST', { reason: 'GET request must not have a Content-Type' });
    return undefined;
  }
  if (method !== 'POST' || !hasBody) return undefined;

  if (typeHeader === undefined) fail('HTTP_MISSING_CONTENT_TYPE');
  const contentType = parseContentType(typeHeader);
  if (rawBody !== undefined) {
    if (`${contentType.type}/${contentType.subtype}` !== rawBody) fail('HTTP_UNSUPPORTED_MEDIA_TYPE');
    return undefined;
  }
  // Compared case-sensitively, as the reference does.
  if (contentType.type !== 'multipart' || contentType.subtype !== 'form-data') fail('HTTP_UNSUPPORTED_MEDIA_TYPE');
  if (!contentType.boundary) fail('HTTP_MISSING_BOUNDARY');
  return contentType;
}
