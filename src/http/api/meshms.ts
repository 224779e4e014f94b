/**
 * MeshMS REST handlers (spec §4): conversation and message lists, the newsince long-poll,
 * sendmessage with its form rules, and the three mark-read endpoints. Every JSON result ends
 * with `meshms_status_code` / `meshms_status_message`.
 */
import { parseSid } from '../../crypto/identity.js';
import { fail } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { MAX_MESSAGE_BYTES } from '../../formats/ply.js';
import { meshmsMembers, MeshmsStatus } from '../../services/meshms/status.js';
import { decodeMeshmsToken } from '../../services/meshms/token.js';
import type { MeshmsService, MessageRow } from '../../services/meshms/types.js';
import type { ContentType } from '../content-type.js';
import { formParts, partName, readPart } from '../form.js';
import { jsonString, RenderedRow } from '../json.js';
import type { FormPart } from '../multipart.js';
import type { Handler, RequestContext, Result, Row } from '../types.js';

export const CONVERSATION_COLUMNS = ['_id', 'my_sid', 'their_sid', 'read', 'last_message', 'read_offset'] as const;
export const MESSAGE_COLUMNS = ['type', 'my_sid', 'their_sid', 'my_offset', 'their_offset', 'token', 'text', 'delivered', 'read', 'timestamp', 'ack_offset'] as const;

/** The `message` part limit of the reference's form parser (MESSAGE_PLY_MAX_LEN). */
const MESSAGE_PART_LIMIT = 4095;
const UINT64_MAX = 2n ** 64n - 1n;

function sidParam(ctx: RequestContext, name: string): Buffer {
  return parseSid(ctx.params[name]!) ?? fail('HTTP_NOT_FOUND');
}

function messageRow(myHex: string, theirHex: string, r: MessageRow): Row {
  // Rendered directly: a 10,000-message list is 10,000 of these.
  const text = r.text === null ? 'null' : jsonString(r.text.toString('utf8'));
  return new RenderedRow(
    `[${jsonString(r.type)},"${myHex}","${theirHex}",${r.myOffset},${r.theirOffset},"${r.token}",${text},${r.delivered},${r.read},${r.timestamp ?? 'null'},${r.ackOffset ?? 'null'}]`,
  );
}

/** The reference's rendering of a part's Content-Type in its error reasons (httpd.c). */
function describeType(t: ContentType): string {
  return `${t.type}/${t.subtype}${t.charset ? `; charset=${t.charset}` : ''}${t.boundary ? `; boundary=${t.boundary}` : ''}`;
}

/** `text/plain; charset=utf-8`, checked in the reference's order (spec §4.7). */
function checkTextPart(part: FormPart): void {
  const type = part.headers.contentType;
  if (!type) fail('FORM_MISSING_PART_TYPE', { reason: 'Missing Content-Type:' });
  const described = describeType(type);
  if (type.type !== 'text' || type.subtype !== 'plain') fail('FORM_UNSUPPORTED_CONTENT_TYPE', { arg: described });
  if (!type.charset) fail('FORM_MISSING_CHARSET', { arg: described });
  if (type.charset !== 'utf-8') fail('FORM_UNSUPPORTED_CHARSET', { arg: described });
}

/** The one `message` part of a sendmessage form (spec §4.7). */
async function readMessagePart(ctx: RequestContext): Promise<Buffer> {
  let message: Buffer | undefined;
  for await (const part of formParts(ctx)) {
    const name = partName(part);
    if (name !== 'message') fail('FORM_UNSUPPORTED_PART_415', { arg: name });
    if (message) fail('FORM_DUPLICATE_PART', { arg: name });
    checkTextPart(part);
    message = await readPart(part, name, MESSAGE_PART_LIMIT);
    if (message.length === 0) fail('FORM_EMPTY_PART', { arg: name });
  }
  if (!message) fail('FORM_MISSING_PART', { arg: 'message' });
  // Stored up to its first NUL. 4095 bytes fit the form but not a ply record: the reference
  // aborts there; Tendril refuses it with the same 400 as one byte more would get.
  const nul = message.indexOf(0);
  if ((nul === -1 ? message.length : nul) > MAX_MESSAGE_BYTES) fail('MESHMS_MESSAGE_TOO_LONG');
  return message;
}

function readResult(changed: boolean, plural: boolean): Result {
  const what = plural ? 'Read offsets' : 'Read offset';
  return changed
    ? { kind: 'json', status: 201, reason: `${what} updated`, members: meshmsMembers(MeshmsStatus.UPDATED) }
    : { kind: 'json', status: 200, reason: `${what} unchanged`, members: meshmsMembers(MeshmsStatus.OK) };
}

export interface MeshmsHandlers {
  readonly conversations: Handler;
  readonly messages: Handler;
  readonly newsince: Handler;
  readonly send: Handler;
  readonly readAllConversations: Handler;
  readonly readAll: Handler;
  readonly readTo: Handler;
}

export function meshmsHandlers(meshms: MeshmsService, newsinceTimeoutMs: () => number): MeshmsHandlers {
  return {
    async conversations(ctx) {
      const my = sidParam(ctx, 'my');
      const myHex = toHex(my);
      const list = await meshms.conversations(my);
      const rows = list.map((c, i): Row => [i, myHex, toHex(c.them), c.read, c.lastMessage, c.readOffset]);
      return { kind: 'table', columns: CONVERSATION_COLUMNS, rows };
    },

    async messages(ctx) {
      const my = sidParam(ctx, 'my');
      const their = sidParam(ctx, 'their');
      const list = await meshms.messages(my, their);
      const [myHex, theirHex] = [toHex(my), toHex(their)];
      const rows = function* (): Generator<Row> {
        for (const r of list.rows) yield messageRow(myHex, theirHex, r);
      };
      return {
        kind: 'table',
        columns: MESSAGE_COLUMNS,
        prefix: [
          ['read_offset', list.readOffset],
          ['latest_ack_offset', list.latestAckOffset],
        ],
        rows: rows(),
      };
    },

    async newsince(ctx) {
      const my = sidParam(ctx, 'my');
      const their = sidParam(ctx, 'their');
      const text = ctx.params.token;
      const from = text === undefined ? undefined : (decodeMeshmsToken(text) ?? fail('HTTP_NOT_FOUND'));
      const until = ctx.startedAt + newsinceTimeoutMs();
      const source = await meshms.follow(my, their, from, until, ctx.signal);
      const [myHex, theirHex] = [toHex(my), toHex(their)];
      const rows = async function* (): AsyncGenerator<Row> {
        for await (const r of source) yield messageRow(myHex, theirHex, r);
      };
      return { kind: 'table', columns: MESSAGE_COLUMNS, live: true, rows: rows() };
    },

    async send(ctx) {
      const my = sidParam(ctx, 'my');
      const their = sidParam(ctx, 'their');
      const message = await readMessagePart(ctx);
      await meshms.send(my, their, message);
      return { kind: 'json', status: 201, reason: 'Message sent', members: meshmsMembers(MeshmsStatus.UPDATED) };
    },

    async readAllConversations(ctx) {
      return readResult(await meshms.markRead(sidParam(ctx, 'my'), undefined, UINT64_MAX), true);
    },

    async readAll(ctx) {
      return readResult(await meshms.markRead(sidParam(ctx, 'my'), sidParam(ctx, 'their'), UINT64_MAX), false);
    },

    async readTo(ctx) {
      const offset = BigInt(ctx.params.offset!);
      if (offset > UINT64_MAX) fail('HTTP_NOT_FOUND');
      return readResult(await meshms.markRead(sidParam(ctx, 'my'), sidParam(ctx, 'their'), offset), false);
    },
  };
}
