/**
 * A Rhizome reply as HTTP: the `Serval-Rhizome-*` headers (spec §3.2), the status arithmetic
 * (spec §3.1), and either the JSON result with the status members or the signed manifest.
 */
import type { JsonValue } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import {
  bundleStatusMessage,
  httpStatusOf,
  payloadStatusMessage,
  type RhizomeOutcome,
} from '../../services/rhizome/status.js';
import type { BundleView, RhizomeReply } from '../../services/rhizome/types.js';
import { jsonString } from '../json.js';
import type { BodyResult, JsonResult } from '../types.js';

export const MANIFEST_TYPE = 'rhizome/manifest; format=text+binarysig';

/**
 * An HTTP quoted-string of raw bytes, as the reference writes the Name header. Header values
 * cannot carry control characters, so any becomes `?` (the reference sends them raw, and HTTP
 * parsers refuse the response).
 */
function quotedBytes(text: string): string {
  const latin1 = Buffer.from(text, 'utf8').toString('latin1');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return `"${latin1.replace(/[\\"]/g, '\\$&').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '?')}"`;
}

function statusHeaders(outcome: RhizomeOutcome, headers: Record<string, string>): void {
  if (outcome.bundle !== undefined) {
    headers['Serval-Rhizome-Result-Bundle-Status-Code'] = String(outcome.bundle);
    headers['Serval-Rhizome-Result-Bundle-Status-Message'] = jsonString(outcome.bundleMessage ?? bundleStatusMessage(outcome.bundle));
  }
  if (outcome.payload !== undefined) {
    headers['Serval-Rhizome-Result-Payload-Status-Code'] = String(outcome.payload);
    headers['Serval-Rhizome-Result-Payload-Status-Message'] = jsonString(payloadStatusMessage(outcome.payload));
  }
}

function bundleHeaders(b: BundleView, headers: Record<string, string>): void {
  const m = b.manifest;
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined) headers[`Serval-Rhizome-Bundle-${name}`] = value;
  };
  set('Id', m.id && toHex(m.id));
  set('Version', m.version ? String(m.version) : undefined);
  set('Filesize', m.filesize?.toString());
  set('Filehash', m.filehash && toHex(m.filehash));
  set('Sender', m.sender && toHex(m.sender));
  set('Recipient', m.recipient && toHex(m.recipient));
  set('BK', m.bk && toHex(m.bk));
  set('Crypt', m.crypt === undefined ? undefined : m.crypt ? '1' : '0');
  set('Tail', m.tail?.toString());
  set('Date', m.date?.toString());
  set('Name', m.name === undefined ? undefined : quotedBytes(m.name));
  set('Service', m.service);
  set('Author', b.author && toHex(b.author));
  set('Secret', b.secret && toHex(b.secret));
  set('Rowid', b.rowid?.toString());
  set('Inserttime', b.inserttime?.toString());
}

export function rhizomeHeaders(reply: RhizomeReply): Record<string, string> {
  const headers: Record<string, string> = {};
  statusHeaders(reply.outcome, headers);
  if (reply.bundle) bundleHeaders(reply.bundle, headers);
  else if (reply.early) {
    headers['Serval-Rhizome-Bundle-Id'] = toHex(reply.early.id);
    headers['Serval-Rhizome-Bundle-Version'] = reply.early.version.toString();
    headers['Serval-Rhizome-Bundle-Filesize'] = reply.early.filesize.toString();
  }
  return headers;
}

function statusMembers(outcome: RhizomeOutcome): Array<readonly [string, JsonValue]> {
  const members: Array<readonly [string, JsonValue]> = [];
  if (outcome.bundle !== undefined) {
    members.push(['rhizome_bundle_status_code', outcome.bundle]);
    members.push(['rhizome_bundle_status_message', outcome.bundleMessage ?? bundleStatusMessage(outcome.bundle)]);
  }
  if (outcome.payload !== undefined) {
    members.push(['rhizome_payload_status_code', outcome.payload]);
    members.push(['rhizome_payload_status_message', payloadStatusMessage(outcome.payload)]);
  }
  return members;
}

/** The reply as a JSON result (errors, imports) or, for manifest bodies, the signed manifest. */
export function rhizomeResult(reply: RhizomeReply): JsonResult | BodyResult {
  const headers = rhizomeHeaders(reply);
  const base = reply.outcome.http;
  if (reply.manifestBody && reply.bundle && base !== undefined && base > 0 && base < 300) {
    // A manifest answer carries the status of the bundle outcome (201 new, 200 same or duplicate,
    // 202 old) with its default reason, as the reference's static manifest response does: the
    // payload status is in the headers but raises nothing (spec §3.8.3 steps 7-8). An insert that
    // finds the same version stored is 200 even though its payload was new.
    const signed = reply.bundle.signed;
    return { kind: 'body', status: base, contentType: MANIFEST_TYPE, headers, body: signed, length: signed.length };
  }
  const { status, reason } = httpStatusOf(reply.outcome);
  return { kind: 'json', status, reason, members: statusMembers(reply.outcome), headers };
}
