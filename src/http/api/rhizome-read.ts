/**
 * Rhizome REST reads (spec §3.3 – §3.7): bundle lists, the newsince long-poll, manifests and
 * payloads with Range.
 */
import { parseSid } from '../../crypto/identity.js';
import { fail } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import type { BundleFilter } from '../../store/rhizome/types.js';
import { decodeBundleToken, encodeBundleToken } from '../../services/rhizome/token.js';
import type { ListRow, RhizomeService } from '../../services/rhizome/types.js';
import { contentRangeHeader, parseRange, resolveRange, unsatisfiableRangeHeader } from '../range.js';
import type { Handler, RequestContext, Row } from '../types.js';
import { rhizomeHeaders, rhizomeResult } from './rhizome-reply.js';

export const BUNDLE_COLUMNS = [
  '.token',
  '_id',
  'service',
  'id',
  'version',
  'date',
  '.inserttime',
  '.author',
  '.fromhere',
  'filesize',
  'filehash',
  'sender',
  'recipient',
  'name',
] as const;

/** List filters from the query; empty values and unparsable SIDs are ignored, as the reference does. */
function filterOf(ctx: RequestContext): BundleFilter {
  const text = (name: string): string | undefined => {
    const value = ctx.queryValue(name);
    return value === undefined || value === '' ? undefined : value;
  };
  const sid = (name: string): Buffer | undefined => {
    const value = text(name);
    return value === undefined ? undefined : parseSid(value);
  };
  const filter: { -readonly [K in keyof BundleFilter]: BundleFilter[K] } = {};
  const service = text('service');
  const name = text('name');
  const sender = sid('sender');
  const recipient = sid('recipient');
  if (service !== undefined) filter.service = service;
  if (name !== undefined) filter.name = name;
  if (sender) filter.sender = sender;
  if (recipient) filter.recipient = recipient;
  return filter;
}

function listRow(row: ListRow, token: string | null): Row {
  const b = row.bundle;
  return [
    token,
    b.rowid,
    b.service ?? null,
    toHex(b.bid),
    b.version,
    b.date ?? null,
    b.inserttime,
    row.author ? toHex(row.author) : null,
    row.fromhere,
    b.filesize,
    b.filehash ? toHex(b.filehash) : null,
    b.sender ? toHex(b.sender) : null,
    b.recipient ? toHex(b.recipient) : null,
    b.name ?? null,
  ];
}

/**
 * Rows after `after`, oldest first, then every row stored until `endAt` as it arrives. Waiting
 * costs nothing: the generator sleeps on the store's add notification or a single timer.
 */
async function* liveRows(
  rhizome: RhizomeService,
  filter: BundleFilter,
  after: number,
  endAt: number,
  signal: AbortSignal,
): AsyncGenerator<Row> {
  let last = after;
  let added = false;
  let wake: (() => void) | undefined;
  const unsubscribe = rhizome.subscribe(() => {
    added = true;
    wake?.();
  });
  try {
    for (;;) {
      added = false;
      for (const row of rhizome.listSince(filter, last)) {
        last = row.bundle.rowid;
        yield listRow(row, encodeBundleToken(rhizome.uuid, row.bundle.rowid));
      }
      if (added) continue;
      const remaining = endAt - Date.now();
      if (remaining <= 0 || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        signal.addEventListener('abort', done, { once: true });
        wake = done;
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
      });
    }
  } finally {
    unsubscribe();
  }
}

export interface RhizomeReadHandlers {
  readonly list: Handler;
  readonly newsince: Handler;
  readonly manifest: Handler;
  readonly raw: Handler;
  readonly decrypted: Handler;
}

export function rhizomeReadHandlers(rhizome: RhizomeService, newsinceTimeoutMs: () => number): RhizomeReadHandlers {
  const payload = (decrypt: boolean): Handler => (ctx) => {
    const found = rhizome.manifest(Buffer.from(ctx.params.bid!, 'hex'));
    if (!found.bundle) return rhizomeResult(found);
    const length = Number(found.bundle.manifest.filesize ?? 0n);
    // Node joins repeated headers with commas; the reference reads the first Range only.
    const rangeHeader = ctx.req.headersDistinct.range?.[0];
    const range = resolveRange(rangeHeader === undefined ? undefined : parseRange(rangeHeader), length, 'whole');
    if (range.kind === 'unsatisfiable') {
      return {
        kind: 'json',
        status: 416,
        headers: { ...rhizomeHeaders(found), 'Content-Range': unsatisfiableRangeHeader(length) },
      };
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end + 1] : [0, length];
    const opened = rhizome.openPayload(found.bundle, decrypt, start, end);
    if (opened.kind === 'reply') return rhizomeResult(opened.reply);
    const headers: Record<string, string> = rhizomeHeaders(opened.reply);
    if (range.kind === 'partial') headers['Content-Range'] = contentRangeHeader(range.start, range.end, length);
    return {
      kind: 'body',
      // The reference keeps its 200's reason on a 206: "206 OK" (spec §1.13).
      status: range.kind === 'partial' ? 206 : 200,
      reason: 'OK',
      contentType: 'application/octet-stream',
      headers,
      length: end - start,
      body: opened.stream,
    };
  };

  return {
    list(ctx) {
      let first = true;
      const rows = function* (): Generator<Row> {
        for (const row of rhizome.list(filterOf(ctx))) {
          // Only the newest row carries a token: nothing listed is newer (spec §3.3).
          yield listRow(row, first ? encodeBundleToken(rhizome.uuid, row.bundle.rowid) : null);
          first = false;
        }
      };
      // A generator, not an array: the list streams however long it is.
      return { kind: 'table', columns: BUNDLE_COLUMNS, rows: rows() };
    },

    newsince(ctx) {
      let after = 0;
      const token = ctx.params.token;
      if (token !== undefined) {
        const rowid = decodeBundleToken(token, rhizome.uuid);
        if (rowid === undefined) fail('HTTP_NOT_FOUND', { reason: 'Invalid token' });
        after = rowid;
      }
      const endAt = ctx.startedAt + newsinceTimeoutMs();
      return { kind: 'table', columns: BUNDLE_COLUMNS, live: true, rows: liveRows(rhizome, filterOf(ctx), after, endAt, ctx.signal) };
    },

    manifest(ctx) {
      const found = rhizome.manifest(Buffer.from(ctx.params.bid!, 'hex'));
      if (!found.bundle) return rhizomeResult(found);
      return { ...rhizomeResult({ ...found, manifestBody: true }) };
    },

    raw: payload(false),
    decrypted: payload(true),
  };
}
