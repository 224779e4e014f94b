/**
 * Test support for Rhizome: multipart requests built as a client would, the reference's
 * identities loaded into a node, and the vector bundles.
 */
import { readFileSync } from 'node:fs';
import { parseKeyringDump } from '../../src/formats/keyring-dump.js';
import { encodeMultipart, type PartSpec } from '../../src/http/multipart.js';
import type { Reply, TestNode } from './node.js';
import { VECTORS } from './vectors.js';

export const MANIFEST_TYPE = 'rhizome/manifest; format=text+binarysig';
const BOUNDARY = 'TeStBoUnDaRy4tendril';

export interface AddParts {
  readonly author?: string;
  readonly secret?: string;
  readonly bundleId?: string;
  readonly manifest?: string | Buffer;
  readonly payload?: string | Buffer;
  readonly filename?: string;
  /** Extra parts, appended in order. */
  readonly extra?: readonly PartSpec[];
}

export function addParts(p: AddParts): PartSpec[] {
  const parts: PartSpec[] = [];
  if (p.bundleId !== undefined) parts.push({ name: 'bundle-id', contentType: 'rhizome/bid; format=hex', body: p.bundleId });
  if (p.author !== undefined) parts.push({ name: 'bundle-author', contentType: 'serval/sid; format=hex', body: p.author });
  if (p.secret !== undefined) parts.push({ name: 'bundle-secret', contentType: 'rhizome/bundlesecret; format=hex', body: p.secret });
  if (p.manifest !== undefined) parts.push({ name: 'manifest', contentType: MANIFEST_TYPE, body: p.manifest });
  if (p.payload !== undefined) parts.push({ name: 'payload', filename: p.filename, body: p.payload });
  parts.push(...(p.extra ?? []));
  return parts;
}

/** The JSON result of a Rhizome request (spec §3.1). */
export interface RhizomeJson {
  http_status_code: number;
  http_status_message: string;
  rhizome_bundle_status_code?: number;
  rhizome_bundle_status_message?: string;
  rhizome_payload_status_code?: number;
  rhizome_payload_status_message?: string;
}

/** [bundle status, payload status] from the result headers (undefined when absent). */
export function statuses(r: Pick<Reply, 'headers'>): [number | undefined, number | undefined] {
  const code = (name: string): number | undefined => {
    const v = r.headers[`serval-rhizome-result-${name}-status-code`];
    return v === undefined ? undefined : Number(v);
  };
  return [code('bundle'), code('payload')];
}

export function postForm(t: TestNode, path: string, parts: readonly PartSpec[], headers: Record<string, string> = {}): Promise<Reply> {
  const body = encodeMultipart(parts, BOUNDARY);
  return t.request('POST', path, {
    headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': body.length, ...headers },
    body,
  });
}

export const insert = (t: TestNode, p: AddParts): Promise<Reply> => postForm(t, '/restful/rhizome/insert', addParts(p));
export const append = (t: TestNode, p: AddParts): Promise<Reply> => postForm(t, '/restful/rhizome/append', addParts(p));

export function importBundle(t: TestNode, manifest: Buffer, payload?: Buffer, query = ''): Promise<Reply> {
  const parts: PartSpec[] = [{ name: 'manifest', contentType: MANIFEST_TYPE, body: manifest }];
  if (payload !== undefined) parts.push({ name: 'payload', body: payload });
  return postForm(t, `/restful/rhizome/import${query}`, parts);
}

/** The four reference identities; Alice (PIN 1234) unlocked too. */
export async function loadReferenceIdentities(t: TestNode): Promise<void> {
  const dump = parseKeyringDump(readFileSync(VECTORS.identities('keyring_dump_secret.txt')));
  await t.node.keyring.load(dump, ['', '', '1234', '']);
}

export interface IdentityVector {
  readonly label: string;
  readonly sid: string;
  readonly identity: string;
}

export function referenceIdentities(): Record<string, IdentityVector> {
  const json = JSON.parse(readFileSync(VECTORS.file('identities.json'), 'utf8')) as { identities: IdentityVector[] };
  return Object.fromEntries(json.identities.map((i) => [i.label, i]));
}

export interface BundleVector {
  readonly dir: string;
  readonly manifest: Buffer;
  readonly raw: Buffer;
  readonly decrypted: Buffer | undefined;
  readonly json: Record<string, unknown> & { bid: string; version: number; filesize: number; crypt?: number | null; bundle_secret?: string };
}

export function bundleVector(dir: string): BundleVector {
  const file = (f: string): Buffer => readFileSync(VECTORS.manifests(dir, f));
  let decrypted: Buffer | undefined;
  try {
    decrypted = file('decrypted.bin');
  } catch {
    decrypted = undefined;
  }
  return { dir, manifest: file('manifest.rhm'), raw: file('raw.bin'), decrypted, json: JSON.parse(file('vector.json').toString('utf8')) as BundleVector['json'] };
}

export const VECTOR_BUNDLES = [
  '01_anon_known_secret',
  '02_authored_bob',
  '03_file_named_alice',
  '04_zero_length_carol',
  '05_custom_service_dave',
  '06_crypt_sender_recipient',
  '07_crypt_bundle_secret',
  '08_journal_v1_create',
  '08_journal_v2_append',
  '08_journal_v3_append',
  '10_update_02_v2',
  '12_inserted_during_newsince',
];

/** The text part of a signed manifest (before the NUL). */
export function manifestText(signed: Buffer): string {
  return signed.subarray(0, signed.indexOf(0)).toString('utf8');
}

export function manifestFields(signed: Buffer): Map<string, string> {
  return new Map(
    manifestText(signed)
      .split('\n')
      .filter((l) => l)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );
}
