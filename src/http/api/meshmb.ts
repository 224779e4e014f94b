/**
 * MeshMB REST handlers (spec §5): sending to one's own feed, reading any feed, following, and the
 * threaded activity view, with their long-polls.
 *
 * Writes answer 201 with the reference's literal reason "TODO, detailed response", which clients
 * may match. Where the reference answers 500 for a client's mistake this answers the status the
 * rest of the API uses: 419 "Identity locked" for an ID that is not an unlocked identity; and a
 * 4095-byte text, on which the reference aborts (spec §10 #14), is 400 as a longer one is.
 */
import { fail } from '../../errors.js';
import { toHex } from '../../formats/hex.js';
import { parseSid } from '../../crypto/identity.js';
import { decodeActivityToken, decodePositionToken, encodeActivityToken, encodePositionToken } from '../../services/meshmb/tokens.js';
import type { ActivityItem, FeedDetails, FeedMessage, LiveOptions, MeshmbService, Rows } from '../../services/meshmb/types.js';
import { readMessagePart } from '../message-part.js';
import { jsonResult, type Handler, type JsonTable, type RequestContext, type Row } from '../types.js';

/** The reference's reason for every MeshMB write, success or failure (spec §5.2). */
export const MESHMB_REASON = 'TODO, detailed response';

export const MESSAGE_COLUMNS = ['offset', 'token', 'text', 'timestamp'] as const;
export const FEED_COLUMNS = ['id', 'author', 'blocked', 'name', 'timestamp', 'last_message'] as const;
export const ACTIVITY_COLUMNS = ['.token', 'ack_offset', 'id', 'author', 'name', 'timestamp', 'offset', 'message'] as const;

const text = (bytes: Buffer | undefined): string | null => (bytes ? bytes.toString('utf8') : null);

function messageRow(m: FeedMessage): Row {
  return [m.offset, encodePositionToken(m.offset), text(m.text), m.timestamp];
}

function feedRow(f: FeedDetails): Row {
  return [toHex(f.id), toHex(f.author), f.blocked, text(f.name), f.timestamp, text(f.lastMessage)];
}

function activityRow(a: ActivityItem): Row {
  return [encodeActivityToken(a.position), a.position.ack, toHex(a.feed), toHex(a.author), text(a.name), a.timestamp, a.position.msg, text(a.text)];
}

/** Rows mapped as they come: an array stays an array (sent whole), a stream stays a stream. */
function mapRows<T>(rows: Rows<T>, f: (item: T) => Row): readonly Row[] | AsyncIterable<Row> {
  if (Array.isArray(rows)) return (rows as readonly T[]).map(f);
  return (async function* () {
    for await (const item of rows as AsyncIterable<T>) yield f(item);
  })();
}

/** The optional `sender` SID of follow and block: invalid is 400, empty is none (spec §5.8). */
function senderOf(ctx: RequestContext): Buffer | undefined {
  const value = ctx.queryValue('sender');
  if (value === undefined || value === '') return undefined;
  return parseSid(value) ?? fail('MESHMB_INVALID_SENDER');
}

const idOf = (ctx: RequestContext, name: string): Buffer => Buffer.from(ctx.params[name]!, 'hex');

export interface MeshmbHandlers {
  readonly send: Handler;
  readonly messages: Handler;
  readonly newsince: Handler;
  readonly feeds: Handler;
  readonly activity: Handler;
  readonly activitySince: Handler;
  readonly follow: Handler;
  readonly ignore: Handler;
  readonly block: Handler;
}

export function meshmbHandlers(meshmb: MeshmbService, newsinceTimeoutMs: () => number): MeshmbHandlers {
  const live = (ctx: RequestContext): LiveOptions => ({ until: ctx.startedAt + newsinceTimeoutMs(), signal: ctx.signal });
  const created = () => jsonResult(201, MESHMB_REASON);

  const messages = async (ctx: RequestContext, after: number, isLive: boolean): Promise<JsonTable> => {
    const list = await meshmb.messages(idOf(ctx, 'feed'), { after, live: isLive ? live(ctx) : undefined });
    return {
      kind: 'table',
      columns: MESSAGE_COLUMNS,
      // Escaped here, unlike the reference, which writes the name raw (spec §9.4 #37).
      prefix: list.name ? [['name', list.name.toString('utf8')]] : undefined,
      rows: mapRows(list.rows, messageRow),
      live: isLive,
    };
  };

  return {
    async send(ctx) {
      const message = await readMessagePart(ctx);
      await meshmb.send(idOf(ctx, 'id'), message);
      return created();
    },

    messages: (ctx) => messages(ctx, 0, false),

    newsince(ctx) {
      const token = ctx.params.token;
      const after = token === undefined ? 0 : decodePositionToken(token);
      if (after === undefined) fail('HTTP_NOT_FOUND', { reason: 'Invalid token' });
      return messages(ctx, after, true);
    },

    async feeds(ctx) {
      const feeds = await meshmb.feeds(idOf(ctx, 'id'));
      // Every feed, however many: the reference truncates lists longer than one buffer (§10 #15).
      return { kind: 'table', columns: FEED_COLUMNS, rows: feeds.map(feedRow) };
    },

    async activity(ctx) {
      const rows = await meshmb.activity(idOf(ctx, 'id'));
      return { kind: 'table', columns: ACTIVITY_COLUMNS, rows: mapRows(rows, activityRow) };
    },

    async activitySince(ctx) {
      // Without a token (`ID/activity/activity.json`, which the reference's parser takes for an
      // empty token) everything is listed before the long-poll.
      const token = ctx.params.token;
      const after = token === undefined ? undefined : (decodeActivityToken(token) ?? fail('HTTP_NOT_FOUND', { reason: 'Invalid token' }));
      const rows = await meshmb.activity(idOf(ctx, 'id'), { after, live: live(ctx) });
      return { kind: 'table', columns: ACTIVITY_COLUMNS, rows: mapRows(rows, activityRow), live: true };
    },

    async follow(ctx) {
      const author = senderOf(ctx);
      const name = ctx.queryValue('name');
      await meshmb.follow(idOf(ctx, 'id'), idOf(ctx, 'feed'), {
        author,
        name: name === undefined ? undefined : Buffer.from(name, 'utf8'),
      });
      return created();
    },

    async ignore(ctx) {
      senderOf(ctx); // parsed, and refused if invalid, though unused: as the reference does
      await meshmb.ignore(idOf(ctx, 'id'), idOf(ctx, 'feed'));
      return created();
    },

    async block(ctx) {
      await meshmb.block(idOf(ctx, 'id'), idOf(ctx, 'feed'), { author: senderOf(ctx) });
      return created();
    },
  };
}
