/**
 * MeshMS REST handlers (spec §4): conversation and message lists, the newsince long-poll,
 * sendmessage with its form rules, and the three mark-read endpoints. Every JSON result ends
 * with `meshms_status_code` / `meshms_status_message`.
 */
import { parseSid } from '../../crypto/identity.js';
import { fail } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { meshmsMembers, MeshmsStatus } from '../../services/meshms/status.js';
import { decodeMeshmsToken } from '../../services/meshms/token.js';
import type { MeshmsService, MessageRow } from '../../services/meshms/types.js';
import { jsonString, RenderedRow } from '../json.js';
import { readMessagePart } from '../message-part.js';
import type { Handler, RequestContext, Result, Row } from '../types.js';

export const CONVERSATION_COLUMNS = ['_id', 'my_sid', 'their_sid', 'read', 'last_message', 'read_offset'] as const;
export const MESSAGE_COLUMNS = ['type', 'my_sid', 'their_sid', 'my_offset', 'their_offset', 'token', 'text', 'delivered', 'read', 'timestamp', 'ack_offset'] as const;

const UINT64_MAX = 2n ** 64n - 1n;

function sidParam(ctx: RequestContext, name: string): Buffer {
  return parseSid(ctx.params[name]!) ?? fail('HTTP_NOT_FOUND');
}

function messageJson(myHex: string, theirHex: string, r: MessageRow): string {
  // Rendered directly: a 10,000-message list is 10,000 of these.
  const text = r.text === null ? 'null' : jsonString(r.text.toString('utf8'));
  return `[${jsonString(r.type)},"${myHex}","${theirHex}",${r.myOffset},${r.theirOffset},"${r.token}",${text},${r.delivered},${r.read},${r.timestamp ?? 'null'},${r.ackOffset ?? 'null'}]`;
}

function messageRow(myHex: string, theirHex: string, r: MessageRow): Row {
  return new RenderedRow(messageJson(myHex, theirHex, r));
}

/** Rows this many at a time make one string: the table writer then awaits per batch, not per row. */
const BATCH = 256;

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
      const list = await meshms.conversations(my, ctx.principal.canWrite);
      const rows = list.map((c, i): Row => [i, myHex, toHex(c.them), c.read, c.lastMessage, c.readOffset]);
      return { kind: 'table', columns: CONVERSATION_COLUMNS, rows };
    },

    async messages(ctx) {
      const my = sidParam(ctx, 'my');
      const their = sidParam(ctx, 'their');
      const list = await meshms.messages(my, their, ctx.principal.canWrite);
      const [myHex, theirHex] = [toHex(my), toHex(their)];
      const rows = function* (): Generator<Row> {
        let batch: string[] = [];
        for (const r of list.rows) {
          batch.push(messageJson(myHex, theirHex, r));
          if (batch.length === BATCH) {
            yield new RenderedRow(batch.join(',\n'));
            batch = [];
          }
        }
        if (batch.length > 0) yield new RenderedRow(batch.join(',\n'));
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
      const source = await meshms.follow(my, their, from, until, ctx.signal, ctx.principal.canWrite);
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
