/**
 * MeshMB message lists (spec §5.3 – §5.5, §8 checklist): non-ASCII text, the longest message a ply
 * record holds and the first one it cannot (the reference aborts on it, §10 #14), form-part
 * errors, the feed name escaped (§10 #15), and the newsince long-poll with and without a token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodePositionToken } from '../../src/services/meshmb/tokens.js';
import { addIdentity, getTable, MESHMB, objects, openStream, send, sendParts, TEXT_UTF8 } from '../helpers/meshmb.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { postForm } from '../helpers/rhizome.js';

void describe('MeshMB messages', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '1.5' } });
  });
  after(async () => t.destroy());

  void it('non-ASCII text is stored as sent and listed with every non-ASCII code point escaped', async () => {
    const a = await addIdentity(t, 'Ünïcödé ✓');
    const text = 'Grüße ✓ 日本語 🎉 "quoted" \\ tab\there\nnew line';
    await send(t, a.identity, text);
    const r = await t.request('GET', `${MESHMB}/${a.identity}/messagelist.json`);
    assert.equal(r.status, 200);
    assert.ok(r.text.startsWith('{\n"name":"\\u00DCn\\u00EFc\\u00F6d\\u00E9 \\u2713",\n"header":'), r.text);
    assert.ok(r.text.includes('"Gr\\u00FC\\u00DFe \\u2713 \\u65E5\\u672C\\u8A9E \\uD83C\\uDF89 \\"quoted\\" \\\\ tab\\there\\nnew line"'), r.text);
    assert.equal(r.json<{ rows: unknown[][] }>().rows[0]![2], text);
  });

  void it('a feed name that needs escaping is escaped (the reference writes it raw)', async () => {
    const a = await addIdentity(t, 'Bob "the" \\ builder');
    await send(t, a.identity, 'hi');
    const r = await t.request('GET', `${MESHMB}/${a.identity}/messagelist.json`);
    assert.ok(r.text.includes('"name":"Bob \\"the\\" \\\\ builder",\n'), r.text);
    assert.equal(r.json().name, 'Bob "the" \\ builder');
  });

  void it('4094 bytes is the longest message; 4095 and more are 400 and the node keeps serving', async () => {
    const a = await addIdentity(t);
    const longest = 'é'.repeat(2047); // 4094 bytes
    await send(t, a.identity, longest);
    const raw = await t.request('GET', `/restful/rhizome/${a.identity}/raw.bin`);
    assert.equal(raw.body.readUInt16LE(4095), (0xfff << 4) | 2); // a full-length MESSAGE record
    const list = objects(await getTable(t, `${a.identity}/messagelist.json`));
    assert.deepEqual(list.map((r) => [r.offset, r.text]), [[4097, longest]]);
    for (const size of [4095, 4096, 100_000]) {
      const r = await send(t, a.identity, Buffer.alloc(size, 0x61), 400);
      assert.equal(r.reason, 'Overflow in "message" form part');
    }
    // A 4095-byte part whose text stops at a NUL is a shorter message.
    const withNul = Buffer.concat([Buffer.from('short'), Buffer.alloc(4090)]);
    await send(t, a.identity, withNul);
    await send(t, a.identity, 'still serving');
    assert.deepEqual(
      objects(await getTable(t, `${a.identity}/messagelist.json`)).map((r) => r.text),
      ['still serving', 'short', longest],
    );
  });

  void it('form parts: the reference checks and reasons for the message part', async () => {
    const a = await addIdentity(t);
    const cases: Array<[Parameters<typeof sendParts>[2], number, string]> = [
      [[], 400, 'Missing "message" form part'],
      [[{ name: 'other', contentType: TEXT_UTF8, body: 'x' }], 415, 'Unsupported "other" form part'],
      [[{ name: 'message', contentType: TEXT_UTF8, body: '' }], 400, 'Invalid (empty) "message" form part'],
      [
        [
          { name: 'message', contentType: TEXT_UTF8, body: 'a' },
          { name: 'message', contentType: TEXT_UTF8, body: 'b' },
        ],
        400,
        'Duplicate "message" form part',
      ],
      [[{ name: 'message', body: 'x' }], 400, 'Missing Content-Type:'],
      [[{ name: 'message', contentType: 'text/html; charset=utf-8', body: 'x' }], 415, 'Unsupported Content-Type: text/html; charset=utf-8'],
      [[{ name: 'message', contentType: 'text/plain', body: 'x' }], 400, 'Missing charset Content-Type: text/plain'],
      [[{ name: 'message', contentType: 'text/plain; charset=latin1', body: 'x' }], 415, 'Unsupported charset Content-Type: text/plain; charset=latin1'],
    ];
    for (const [parts, status, reason] of cases) {
      const r = await sendParts(t, a.identity, parts);
      assert.equal(r.status, status, reason);
      assert.equal(r.reason, reason);
    }
    const empty = await t.request('POST', `${MESHMB}/${a.identity}/sendmessage`, { headers: { 'Content-Length': 0 } });
    assert.equal(empty.status, 400);
    assert.equal(empty.reason, 'Missing "message" form part');
    // Nothing was stored.
    assert.equal((await t.request('GET', `/restful/rhizome/${a.identity}.rhm`)).status, 404);
    // A bundle form's parts are not a message.
    const wrongForm = await postForm(t, `${MESHMB}/${a.identity}/sendmessage`, [{ name: 'manifest', body: 'x' }]);
    assert.equal(wrongForm.status, 415);
  });

  void it('newsince without a token lists everything, then each message as it arrives, then ends', async () => {
    const a = await addIdentity(t, 'Streamer');
    await send(t, a.identity, 'one');
    const stream = openStream(t, `${a.identity}/newsince/messagelist.json`);
    await stream.opened;
    await send(t, a.identity, 'two');
    await send(t, a.identity, 'three');
    const done = await stream.done;
    assert.equal(done.status, 200);
    assert.ok(done.text.startsWith('{\n"name":"Streamer",\n"header":["offset","token","text","timestamp"],\n"rows":['), done.text);
    assert.ok(done.text.endsWith('\n]\n}\n'));
    const table = JSON.parse(done.text) as { header: string[]; rows: unknown[][] };
    assert.deepEqual(objects(table).map((r) => r.text), ['one', 'two', 'three']);
    assert.ok(done.chunks.length >= 3, 'rows arrive as they are sent');
    assert.ok(done.chunks.at(-1)!.at >= 1400, 'the stream ends at newsince_timeout');
  });

  void it('newsince from a token lists only newer messages; a feed that appears later streams from its start', async () => {
    const a = await addIdentity(t);
    await send(t, a.identity, 'old');
    await send(t, a.identity, 'newer');
    const rows = objects(await getTable(t, `${a.identity}/messagelist.json`));
    const token = rows[1]!.token as string; // the older message
    assert.equal(token, encodePositionToken(rows[1]!.offset as number));
    const fromToken = await t.request('GET', `${MESHMB}/${a.identity}/newsince/${token}/messagelist.json`);
    assert.deepEqual(objects(fromToken.json()).map((r) => r.text), ['newer']);

    const later = await addIdentity(t);
    const stream = openStream(t, `${later.identity}/newsince/messagelist.json`);
    await stream.opened;
    await send(t, later.identity, 'first ever');
    const done = await stream.done;
    assert.deepEqual(objects(JSON.parse(done.text) as { header: string[]; rows: unknown[][] }).map((r) => r.text), ['first ever']);
    // Other feeds' messages never wake it.
    assert.equal('name' in (JSON.parse(done.text) as object), false);
  });
});
