/**
 * MeshMS over HTTP (spec §4): every endpoint and the reference's tests/meshmsrestful checklist
 * (spec §8.3), plus Tendril's own limits (4094-byte texts, never a crash).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RON, startTestNode, type TestNode } from '../helpers/node.js';
import {
  addIdentity,
  asMessage,
  conversationList,
  MESSAGE_COLUMNS,
  messageList,
  openStream,
  parsePartialTable,
  postParts,
  send,
  sendOk,
  TEXT_UTF8,
} from '../helpers/meshms.js';

const REALM = 'Basic realm="Serval RESTful API"';
const UNKNOWN = 'F'.repeat(63) + 'E';

function meshmsStatus(body: { meshms_status_code?: number; meshms_status_message?: string }): [number | undefined, string | undefined] {
  return [body.meshms_status_code, body.meshms_status_message];
}

void describe('MeshMS REST: access', () => {
  let t: TestNode;
  let a: string;
  before(async () => {
    t = await startTestNode();
    a = await addIdentity(t);
  });
  after(async () => t.destroy());

  void it('AuthBasicMissing: conversationlist.json without credentials is 401 with the realm', async () => {
    const r = await t.request('GET', `/restful/meshms/${a}/conversationlist.json`, { auth: null });
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], REALM);
  });

  void it('AuthBasicWrong: wrong credentials are 401; ron:weasley is 200', async () => {
    const wrong = 'Basic ' + Buffer.from('ron:potter').toString('base64');
    assert.equal((await t.request('GET', `/restful/meshms/${a}/conversationlist.json`, { auth: wrong })).status, 401);
    const r = await t.request('GET', `/restful/meshms/${a}/conversationlist.json`, { auth: RON });
    assert.equal(r.status, 200);
    assert.equal(r.text, '{\n"header":["_id","my_sid","their_sid","read","last_message","read_offset"],\n"rows":[\n]\n}\n');
  });

  void it('NoIdentity: an unknown or locked MYSID is 419 "Identity locked", status 2 "Identity unknown", on every endpoint', async () => {
    const paths: Array<[string, string]> = [
      ['GET', `/restful/meshms/${UNKNOWN}/conversationlist.json`],
      ['GET', `/restful/meshms/${UNKNOWN}/${a}/messagelist.json`],
      ['GET', `/restful/meshms/${UNKNOWN}/${a}/newsince/messagelist.json`],
      ['POST', `/restful/meshms/${UNKNOWN}/readall`],
      ['POST', `/restful/meshms/${UNKNOWN}/${a}/readall`],
      ['POST', `/restful/meshms/${UNKNOWN}/${a}/recv/5/read`],
    ];
    for (const [method, path] of paths) {
      const r = await t.request(method, path);
      assert.equal(r.status, 419, path);
      assert.equal(r.reason, 'Identity locked');
      const body = r.json<{ http_status_message: string; meshms_status_code: number; meshms_status_message: string }>();
      assert.equal(body.http_status_message, 'Identity locked');
      assert.deepEqual(meshmsStatus(body), [2, 'Identity unknown']);
    }
    const sent = await send(t, UNKNOWN, a, 'hello');
    assert.equal(sent.status, 419);
    assert.deepEqual(meshmsStatus(sent.json()), [2, 'Identity unknown']);
    // A PIN-protected identity, once locked, is as unknown.
    const added = await t.request('POST', '/restful/keyring/add?pin=4321');
    const sid = added.json<{ identity: { sid: string } }>().identity.sid;
    assert.equal((await send(t, sid, a, 'before lock')).status, 201);
    assert.equal((await t.request('PUT', `/restful/keyring/${sid}/lock`)).status, 200);
    assert.equal((await t.request('GET', `/restful/meshms/${sid}/${a}/messagelist.json`)).status, 419);
    assert.equal((await t.request('GET', `/restful/keyring/identities.json?pin=4321`)).status, 200);
    assert.equal((await t.request('GET', `/restful/meshms/${sid}/${a}/messagelist.json`)).status, 200);
  });

  void it('unknown paths are 404, wrong verbs 405, undecodable tokens 404', async () => {
    assert.equal((await t.request('GET', `/restful/meshms/${a}/nothing.json`)).status, 404);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/${a}/recv/x/read`)).status, 404);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/${a}/recv/99999999999999999999/read`)).status, 405);
    assert.equal((await t.request('POST', `/restful/meshms/${a}/${a}/recv/99999999999999999999/read`)).status, 404);
    assert.equal((await t.request('POST', `/restful/meshms/${a}/conversationlist.json`)).status, 405);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/readall`)).status, 405);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/${a}/sendmessage`)).status, 405);
    assert.equal((await t.request('DELETE', `/restful/meshms/${a}/${a}/messagelist.json`)).status, 405);
    // Fewer than 3 bytes, or a varint that never ends: the route does not exist (404).
    assert.equal((await t.request('GET', `/restful/meshms/${a}/${a}/newsince/AQ==/messagelist.json`)).status, 404);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/${a}/newsince/AYCA/messagelist.json`)).status, 404);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/${a}/newsince/!!!!/messagelist.json`)).status, 404);
  });

  void it('is switched off with rhizome.http.enable (404)', async () => {
    const off = await startTestNode({ config: { 'rhizome.http.enable': 'false' } });
    try {
      const r = await off.request('GET', `/restful/meshms/${a}/conversationlist.json`);
      assert.equal(r.status, 404);
    } finally {
      await off.destroy();
    }
  });
});

void describe('MeshMS REST: sending', () => {
  let t: TestNode;
  let a: string;
  let b: string;
  before(async () => {
    t = await startTestNode();
    a = await addIdentity(t, 'A');
    b = await addIdentity(t, 'B');
  });
  after(async () => t.destroy());

  const path = (): string => `/restful/meshms/${a}/${b}/sendmessage`;

  void it('Send: 201 "Message sent", status 1 "Updated"; the reply from the other side too; both listed', async () => {
    const r = await send(t, a, b, 'Message2');
    assert.equal(r.status, 201);
    assert.equal(r.reason, 'Message sent');
    assert.equal(
      r.text,
      '{\n "http_status_code": 201,\n "http_status_message": "Message sent",\n "meshms_status_code": 1,\n "meshms_status_message": "Updated"\n}',
    );
    assert.equal((await send(t, b, a, 'Message4')).status, 201);
    const list = (await messageList(t, a, b)).rows.map(asMessage);
    assert.deepEqual(
      list.map((m) => [m.type, m.text, m.my_offset, m.their_offset]),
      [
        // A's ply: MESSAGE 11, TIME 17, then the auto-ACK of B's 14 (ACK 20, TIME 26).
        ['<', 'Message4', 20, 14],
        ['ACK', null, 11, 3],
        ['>', 'Message2', 11, 0],
      ],
    );
    const theirs = (await messageList(t, b, a)).rows.map(asMessage);
    assert.deepEqual(
      theirs.map((m) => [m.type, m.text, m.my_offset, m.their_offset, m.delivered]),
      [
        ['ACK', null, 14, 20, true],
        ['>', 'Message4', 14, 0, true],
        ['<', 'Message2', 3, 11, true],
      ],
    );
  });

  void it('SendMissingMessage: an empty body is 400 "Missing "message" form part"; nothing is sent', async () => {
    const before = (await messageList(t, a, b)).rows.length;
    const r = await t.request('POST', path(), { headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': 0 }, body: '' });
    assert.equal(r.status, 400);
    assert.equal(r.reason, 'Missing "message" form part');
    assert.equal((await messageList(t, a, b)).rows.length, before);
    const other = await postParts(t, path(), []);
    assert.equal(other.status, 400);
  });

  void it('form part errors, in the reference wording and statuses', async () => {
    const cases: Array<[Parameters<typeof postParts>[2], number, string]> = [
      [[{ name: 'message', contentType: TEXT_UTF8, body: 'one' }, { name: 'message', contentType: TEXT_UTF8, body: 'two' }], 400, 'Duplicate "message" form part'],
      [[{ name: 'message', body: 'x' }], 400, 'Missing Content-Type:'],
      [[{ name: 'message', contentType: 'text/rich; charset=utf-8', body: 'x' }], 415, 'Unsupported Content-Type: text/rich; charset=utf-8'],
      [[{ name: 'message', contentType: 'text/plain', body: 'x' }], 400, 'Missing charset Content-Type: text/plain'],
      [[{ name: 'message', contentType: 'text/plain; charset=latin-1', body: 'x' }], 415, 'Unsupported charset Content-Type: text/plain; charset=latin-1'],
      [[{ name: 'message', contentType: TEXT_UTF8, body: '' }], 400, 'Invalid (empty) "message" form part'],
      [[{ name: 'mess', contentType: TEXT_UTF8, body: 'x' }], 415, 'Unsupported "mess" form part'],
      [[{ name: 'message', contentType: TEXT_UTF8, body: 'x'.repeat(4096) }], 400, 'Overflow in "message" form part'],
    ];
    const before = (await messageList(t, a, b)).rows.length;
    for (const [parts, status, reason] of cases) {
      const r = await postParts(t, path(), parts);
      assert.equal(r.status, status, reason);
      assert.equal(r.reason, reason);
      assert.equal(r.json<{ http_status_message: string }>().http_status_message, reason);
    }
    assert.equal((await messageList(t, a, b)).rows.length, before);
  });

  void it('limits: 4094 bytes are sent; 4095 are refused with 400 and the node keeps serving', async () => {
    const max = Buffer.alloc(4094, 0x61);
    assert.equal((await send(t, a, b, max)).status, 201);
    const tooLong = await send(t, a, b, Buffer.alloc(4095, 0x62));
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.reason, 'Overflow in "message" form part');
    assert.equal(tooLong.headers['tendril-error'], 'FORM_PART_OVERFLOW');
    // Text is stored up to its first NUL: 4095 bytes with an early NUL fit.
    const withNul = Buffer.concat([Buffer.from('cut here'), Buffer.of(0), Buffer.alloc(4086, 0x63)]);
    assert.equal(withNul.length, 4095);
    assert.equal((await send(t, a, b, withNul)).status, 201);
    const rows = (await messageList(t, a, b)).rows.map(asMessage);
    assert.equal(rows[0]!.text, 'cut here');
    assert.equal(rows[1]!.text, 'a'.repeat(4094));
    // The 4094-byte text fills a record: 4095 content bytes (12-bit maximum) and a 2-byte footer.
    assert.equal(rows[0]!.my_offset - rows[1]!.my_offset, 6 + 8 + 1 + 2);
    assert.equal((await t.request('GET', `/restful/meshms/${a}/conversationlist.json`)).status, 200);
  });

  void it('unicode: emoji sent over REST appear once, escaped as surrogate pairs', async () => {
    assert.equal((await send(t, a, b, 'smile \u{1F610} done')).status, 201);
    const r = await t.request('GET', `/restful/meshms/${b}/${a}/messagelist.json`);
    assert.equal(r.text.split('\\uD83D\\uDE10').length - 1, 1);
    assert.ok(r.text.includes('"smile \\uD83D\\uDE10 done"'));
    assert.ok(![...r.text].some((ch) => ch.charCodeAt(0) > 0x7f), 'all non-ASCII is escaped');
    const rows = r.json<{ rows: unknown[][] }>().rows;
    assert.equal(rows.filter((row) => row[6] === 'smile \u{1F610} done').length, 1);
  });

  void it('TalkToYourself: sending to your own SID is 201; both lists are 200', async () => {
    assert.equal((await send(t, a, a, 'note to self')).status, 201);
    const convs = await conversationList(t, a);
    const self = convs.find((c) => c.their_sid === a);
    assert.ok(self);
    assert.deepEqual([self.read, self.last_message, self.read_offset], [true, 0, 0]);
    const list = await messageList(t, a, a);
    assert.deepEqual(list.rows.map((r) => [r[0], r[6]]), [['>', 'note to self']]);
  });

  void it('a SID that is not an identity here can be written to (the ply waits for them)', async () => {
    assert.equal((await send(t, a, UNKNOWN, 'hello stranger')).status, 201);
    const list = await messageList(t, a, UNKNOWN);
    assert.deepEqual(list.rows.map((r) => [r[0], r[6], r[7]]), [['>', 'hello stranger', false]]);
    // broadcast is a SID too, as the reference's parser has it.
    assert.equal((await send(t, a, 'broadcast', 'to all')).status, 201);
    assert.equal((await messageList(t, a, 'broadcast')).rows.length, 1);
  });

  void it('concurrent sends on one conversation and across conversations lose nothing', async () => {
    const c = await addIdentity(t, 'C');
    const d = await addIdentity(t, 'D');
    const texts = Array.from({ length: 20 }, (_, i) => `parallel ${i}`);
    const replies = await Promise.all([
      ...texts.map((text) => send(t, c, d, text)),
      ...texts.map((text) => send(t, c, a, text)),
      ...texts.map((text) => send(t, d, c, `back ${text}`)),
    ]);
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([201]));
    const cd = (await messageList(t, c, d)).rows.map(asMessage);
    assert.deepEqual(cd.filter((m) => m.type === '>').map((m) => m.text).sort(), [...texts].sort());
    assert.equal(cd.filter((m) => m.type === '<').length, 20);
    assert.equal((await messageList(t, c, a)).rows.filter((r) => r[0] === '>').length, 20);
    const convs = await conversationList(t, c);
    assert.deepEqual(convs.map((x) => x.their_sid).sort(), [a, d].sort());
  });
});

void describe('MeshMS REST: conversations and read markers', () => {
  let t: TestNode;
  const sid: string[] = [];
  before(async () => {
    t = await startTestNode();
    for (let i = 1; i <= 4; i++) sid.push(await addIdentity(t, `A${i}`));
    const [s1, s2, s3, s4] = sid as [string, string, string, string];
    await sendOk(t, s1, s2, 'Message1');
    await sendOk(t, s3, s1, 'Message2');
    await sendOk(t, s1, s4, 'Message3');
    await sendOk(t, s4, s1, 'Message4');
  });
  after(async () => t.destroy());

  const row = (rows: Awaited<ReturnType<typeof conversationList>>, their: string): [boolean, number, number] => {
    const r = rows.find((x) => x.their_sid === their);
    assert.ok(r, `no conversation with ${their}`);
    return [r.read, r.last_message, r.read_offset];
  };

  void it('ListConversations: three conversations with their last message offsets, none read', async () => {
    const [s1, s2, s3, s4] = sid as [string, string, string, string];
    const rows = await conversationList(t, s1);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => r._id), [0, 1, 2]);
    assert.ok(rows.every((r) => r.my_sid === s1));
    assert.deepEqual(row(rows, s2), [true, 0, 0]);
    assert.deepEqual(row(rows, s3), [false, 11, 0]);
    assert.deepEqual(row(rows, s4), [false, 14, 0]);
  });

  void it('PostSpuriousContent: readall with a body is 400 "Bad content length" (before the verb); nothing changes', async () => {
    const [s1] = sid as [string];
    const r = await postParts(t, `/restful/meshms/${s1}/readall`, [{ name: 'message', contentType: TEXT_UTF8, body: 'x' }]);
    assert.equal(r.status, 400);
    assert.equal(r.reason, 'Bad content length');
    const put = await t.request('PUT', `/restful/meshms/${s1}/readall`, { headers: { 'Content-Length': 3 }, body: 'abc' });
    assert.equal(put.status, 400);
    assert.equal((await t.request('PUT', `/restful/meshms/${s1}/readall`)).status, 405);
    assert.ok((await conversationList(t, s1)).every((c) => c.read_offset === 0));
  });

  void it('ReadMessage: recv/OFFSET/read moves the marker forward only (201, then 200)', async () => {
    const [s1, , s3] = sid as [string, string, string];
    const r = await t.request('POST', `/restful/meshms/${s1}/${s3}/recv/5/read`);
    assert.equal(r.status, 201);
    assert.equal(r.reason, 'Read offset updated');
    assert.deepEqual(meshmsStatus(r.json()), [1, 'Updated']);
    assert.deepEqual(row(await conversationList(t, s1), s3), [false, 11, 5]);
    const back = await t.request('POST', `/restful/meshms/${s1}/${s3}/recv/3/read`);
    assert.equal(back.status, 200);
    assert.equal(back.reason, 'Read offset unchanged');
    assert.deepEqual(meshmsStatus(back.json()), [0, 'OK']);
    // Clamped to their last message.
    assert.equal((await t.request('POST', `/restful/meshms/${s1}/${s3}/recv/1000/read`)).status, 201);
    assert.deepEqual(row(await conversationList(t, s1), s3), [true, 11, 11]);
    assert.equal((await t.request('POST', `/restful/meshms/${s1}/${s3}/recv/18446744073709551615/read`)).status, 200);
    // A conversation that does not exist changes nothing.
    assert.equal((await t.request('POST', `/restful/meshms/${s1}/${UNKNOWN}/recv/1/read`)).status, 200);
  });

  void it('ReadAllConversations: readall sets every marker to the last message (201), then 200', async () => {
    const [s1, s2, s3, s4] = sid as [string, string, string, string];
    const r = await t.request('POST', `/restful/meshms/${s1}/readall`);
    assert.equal(r.status, 201);
    assert.equal(r.reason, 'Read offsets updated');
    const rows = await conversationList(t, s1);
    assert.deepEqual(row(rows, s2), [true, 0, 0]);
    assert.deepEqual(row(rows, s3), [true, 11, 11]);
    assert.deepEqual(row(rows, s4), [true, 14, 14]);
    const again = await t.request('POST', `/restful/meshms/${s1}/readall`);
    assert.equal(again.status, 200);
    assert.equal(again.reason, 'Read offsets unchanged');
  });

  void it('ReadAllMessages: THEIRSID/readall marks one conversation; an auto-ACK alone also counts as a change', async () => {
    const [s1, s2] = sid as [string, string];
    await sendOk(t, s2, s1, 'a reply');
    await sendOk(t, s2, s1, 'and another');
    const r = await t.request('POST', `/restful/meshms/${s2}/${s1}/readall`);
    // s2 never had anything to read from s1 but its first message: ACK + marker.
    assert.equal(r.status, 201);
    assert.equal(r.reason, 'Read offset updated');
    const list = await messageList(t, s1, s2);
    assert.equal(list.read_offset, 0);
    const read = await t.request('POST', `/restful/meshms/${s1}/${s2}/readall`);
    assert.equal(read.status, 201);
    const after = await messageList(t, s1, s2);
    const last = Math.max(...after.rows.filter((x) => x[0] === '<').map((x) => x[4]));
    assert.equal(after.read_offset, last);
    assert.ok(after.rows.filter((x) => x[0] === '<').every((x) => x[8] === true));
  });
});

/** A scripted exchange between A and B: '>' A sends, '<' B sends, 'a' B lists (acks), 'r' A reads all. */
async function script(t: TestNode, a: string, b: string, events: string): Promise<{ sent: string[]; received: string[] }> {
  const sent: string[] = [];
  const received: string[] = [];
  let n = 0;
  for (const e of events) {
    n++;
    if (e === '>') {
      sent.push(`from A #${n} ${'x'.repeat(n % 7)}`);
      await sendOk(t, a, b, sent.at(-1)!);
    } else if (e === '<') {
      received.push(`from B #${n} é`);
      await sendOk(t, b, a, received.at(-1)!);
    } else if (e === 'a') {
      await messageList(t, b, a);
    } else if (e === 'r') {
      await t.request('POST', `/restful/meshms/${a}/${b}/readall`);
    }
  }
  return { sent, received };
}

void describe('MeshMS REST: message lists', () => {
  let t: TestNode;
  let a: string;
  let b: string;
  let sent: string[];
  let received: string[];
  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '0.5' } });
    a = await addIdentity(t, 'A');
    b = await addIdentity(t, 'B');
    // 36 events, as the reference's scripted exchange.
    ({ sent, received } = await script(t, a, b, '><>>a>r<<>><>>a<>>><ar>><>>><<>>a>>'));
  });
  after(async () => t.destroy());

  void it('ListMessages: sent + received + 1 rows, newest first, one ACK row just before the newest delivered message', async () => {
    const list = await messageList(t, a, b);
    assert.deepEqual(list.header, MESSAGE_COLUMNS);
    const rows = list.rows.map(asMessage);
    assert.equal(rows.length, sent.length + received.length + 1);
    assert.ok(rows.every((r) => r.my_sid === a && r.their_sid === b && r.token.length > 0));
    assert.deepEqual(rows.filter((r) => r.type === '>').map((r) => r.text), [...sent].reverse());
    assert.deepEqual(rows.filter((r) => r.type === '<').map((r) => r.text), [...received].reverse());
    const delivered = list.latest_ack_offset;
    assert.ok(delivered > 0);
    for (const r of rows.filter((x) => x.type === '>')) {
      assert.equal(r.delivered, r.my_offset <= delivered);
      assert.equal(r.read, false);
      assert.equal(r.ack_offset, null);
      assert.ok(r.timestamp! > 1_600_000_000);
    }
    for (const r of rows.filter((x) => x.type === '<')) {
      assert.equal(r.read, r.their_offset <= list.read_offset);
      assert.equal(r.delivered, true);
    }
    const acks = rows.filter((r) => r.type === 'ACK');
    assert.equal(acks.length, 1);
    const ack = acks[0]!;
    assert.deepEqual([ack.text, ack.delivered, ack.read, ack.timestamp, ack.ack_offset], [null, true, false, null, delivered]);
    const at = rows.indexOf(ack);
    const next = rows[at + 1]!;
    assert.equal(next.type, '>');
    assert.equal(next.my_offset, ack.my_offset);
    assert.ok(next.delivered);
    assert.ok(rows.slice(0, at).every((r) => r.type !== '>' || !r.delivered), 'the ACK row precedes the newest delivered message');
    // Offsets strictly decrease within each ply.
    const mine = rows.filter((r) => r.type === '>').map((r) => r.my_offset);
    assert.deepEqual(mine, [...mine].sort((x, y) => y - x));
    const theirs = rows.filter((r) => r.type === '<').map((r) => r.their_offset);
    assert.deepEqual(theirs, [...theirs].sort((x, y) => y - x));
    // The tokens are all different.
    assert.equal(new Set(rows.map((r) => r.token)).size, rows.length);
  });

  void it('ListMessagesNewSince: from the token of every third row i, newsince lists rows [0, i)', async () => {
    const rows = (await messageList(t, a, b)).rows;
    const picks = rows.map((_, i) => i).filter((i) => i % 3 === 0);
    const replies = await Promise.all(picks.map((i) => t.request('GET', `/restful/meshms/${a}/${b}/newsince/${rows[i]![5]}/messagelist.json`)));
    replies.forEach((r, k) => {
      assert.equal(r.status, 200);
      assert.deepEqual(parsePartialTable(r.text).rows, rows.slice(0, picks[k]), `row ${picks[k]}`);
    });
    // Without a token: everything, then the end of the table at the timeout.
    const all = await t.request('GET', `/restful/meshms/${a}/${b}/newsince/messagelist.json`);
    assert.deepEqual(parsePartialTable(all.text).rows, rows);
    assert.ok(all.text.endsWith('\n]\n}\n'));
  });

  void it('EmptyNewSince: a token-less newsince on an empty conversation is 200 and an empty table', async () => {
    const c = await addIdentity(t, 'C');
    const started = Date.now();
    const r = await t.request('GET', `/restful/meshms/${a}/${c}/newsince/messagelist.json`);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - started >= 400, 'it waited for the timeout');
    assert.equal(r.text, `{\n"header":${JSON.stringify(MESSAGE_COLUMNS)},\n"rows":[\n]\n}\n`);
  });
});

void describe('MeshMS REST: newsince streaming', () => {
  let t: TestNode;
  let a: string;
  let b: string;
  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '30' } });
    a = await addIdentity(t, 'A');
    b = await addIdentity(t, 'B');
    await script(t, a, b, '><>a<>');
  });
  after(async () => t.destroy());

  void it('NewSinceArrival: three streams from the newest token see a sent message, an ACK, a received message, another sent one', async () => {
    const newest = (await messageList(t, a, b)).rows[0]![5];
    const streams = [0, 1, 2].map(() => openStream(t, `/restful/meshms/${a}/${b}/newsince/${newest}/messagelist.json`));
    try {
      for (const s of streams) assert.equal(await s.status, 200);
      await Promise.all(streams.map((s) => s.until(() => s.text().includes('"rows":['))));
      assert.ok(streams.every((s) => s.rows().length === 0));

      await sendOk(t, a, b, 'Rumplestiltskin');
      await Promise.all(streams.map((s) => s.until((rows) => rows.some((r) => r[0] === '>' && r[6] === 'Rumplestiltskin'))));
      await messageList(t, b, a); // B reads: its ply gets an ACK
      await Promise.all(streams.map((s) => s.until((rows) => rows.some((r) => r[0] === 'ACK'))));
      await sendOk(t, b, a, 'Howdydoody');
      await Promise.all(streams.map((s) => s.until((rows) => rows.some((r) => r[0] === '<' && r[6] === 'Howdydoody'))));
      await sendOk(t, a, b, 'Eulenspiegel');
      const final = await Promise.all(streams.map((s) => s.until((rows) => rows.some((r) => r[6] === 'Eulenspiegel'))));
      for (const rows of final) {
        // Batches arrive in order; each is newest first.
        assert.deepEqual(
          rows.map((r) => [r[0], r[6]]),
          [
            ['>', 'Rumplestiltskin'],
            ['ACK', null],
            ['<', 'Howdydoody'],
            ['>', 'Eulenspiegel'],
          ],
        );
        // Every row's token equals the one the full list gives it now, except those whose
        // their_ack has since changed.
        const ack = rows[1]!;
        assert.equal(ack[10], (await messageList(t, a, b)).latest_ack_offset);
      }
    } finally {
      for (const s of streams) s.close();
    }
  });

  void it('a stream ends cleanly at newsince_timeout, however many wake-ups it had', async () => {
    const short = await startTestNode({ config: { 'api.restful.newsince_timeout': '0.6' } });
    try {
      const x = await addIdentity(short, 'X');
      const y = await addIdentity(short, 'Y');
      const s = openStream(short, `/restful/meshms/${x}/${y}/newsince/messagelist.json`);
      await sendOk(short, y, x, 'one');
      await sendOk(short, x, y, 'two');
      const body = await s.done;
      assert.ok(body.endsWith('\n]\n}\n'), body);
      assert.deepEqual(parsePartialTable(body).rows.map((r) => r[6]).sort(), ['one', 'two']);
    } finally {
      await short.destroy();
    }
  });
});

void describe('MeshMS REST: rhizome.reliable_clock off', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ config: { 'rhizome.reliable_clock': 'false' } });
  });
  after(async () => t.destroy());

  void it('writes no TIME records: offsets follow message by message and timestamps are 0', async () => {
    const a = await addIdentity(t);
    const b = await addIdentity(t);
    await sendOk(t, a, b, 'Message2');
    await sendOk(t, a, b, 'Message3');
    await sendOk(t, b, a, 'Message4');
    const rows = (await messageList(t, a, b)).rows.map(asMessage);
    assert.deepEqual(
      rows.map((r) => [r.type, r.my_offset, r.their_offset, r.timestamp]),
      [
        // A: MESSAGE 11, MESSAGE 22, ACK(14) 25. B: ACK(22) 3, MESSAGE 14.
        ['<', 25, 14, 0],
        ['ACK', 22, 3, null],
        ['>', 22, 0, 0],
        ['>', 11, 0, 0],
      ],
    );
  });
});

void describe('MeshMS REST: a malformed ply', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.destroy());

  void it('a received message without its NUL: 500 "MeshMS protocol fault" before the first row, a list cut short after it', async () => {
    const a = await addIdentity(t, 'A');
    const b = await addIdentity(t, 'B');
    // B's ply written by hand through Rhizome append: one MESSAGE record whose text lacks its NUL.
    const record = Buffer.concat([Buffer.from('no terminator'), Buffer.alloc(2)]);
    record.writeUInt16LE((13 << 4) | 2, 13);
    const manifest = `service=MeshMS2\nsender=${b}\nrecipient=${a}\n`;
    const r = await postParts(t, '/restful/rhizome/append', [
      { name: 'bundle-author', contentType: 'serval/sid; format=hex', body: b },
      { name: 'manifest', contentType: 'rhizome/manifest; format=text+binarysig', body: manifest },
      { name: 'payload', body: record },
    ]);
    assert.equal(r.status, 201, r.text);
    const fault = await t.request('GET', `/restful/meshms/${a}/${b}/messagelist.json`);
    assert.equal(fault.status, 500);
    assert.equal(fault.reason, 'MeshMS protocol fault');
    assert.deepEqual(meshmsStatus(fault.json()), [3, 'MeshMS protocol fault']);
    // A newer message of A's comes first; the list then ends where the fault is.
    await sendOk(t, a, b, 'still here');
    const cut = await t.request('GET', `/restful/meshms/${a}/${b}/messagelist.json`);
    assert.equal(cut.status, 200);
    assert.deepEqual(cut.json<{ rows: unknown[][] }>().rows.map((x) => x[6]), ['still here']);
    // The conversation list does not read messages: it still works.
    assert.equal((await t.request('GET', `/restful/meshms/${a}/conversationlist.json`)).status, 200);
  });
});
