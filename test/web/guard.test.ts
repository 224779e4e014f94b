/**
 * Guessing (issue 14, findings 3 and 7): wrong PINs and failed Basic or token authentications
 * paid for with growing delays, per credentials or user and per client address; PIN derivations
 * bounded and taken in turn, so a download stays fast during a flood of guesses; the figures in
 * the log and /restful/system; and why every 401 and 403 was given, in its log line, without a
 * secret (issue 12).
 *
 * Client addresses other than loopback are reached the way a dedicated web server reports them:
 * connections relayed over a link to the node, claiming the client's address (test/helpers/relay.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TokenService } from '../../src/services/tokens/types.js';
import { addressKey, Throttle, type ThrottleOptions } from '../../src/services/guard/throttle.js';
import { HARRY, RON, startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { unixRequest } from '../helpers/control.js';
import { relayedRequest } from '../helpers/relay.js';
import { insert } from '../helpers/rhizome.js';

const LIST = '/restful/keyring/identities.json';
/** Long waits: nothing in these tests waits one out, so none ends while a test looks. */
const STRICT: ThrottleOptions = { free: 3, baseMs: 60_000, maxMs: 600_000, forgetMs: 3_600_000, maxKeys: 1000 };
const basic = (user: string, pass: string): string => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

/** A request as a dedicated server in `mode` (default server) relays it for a client at `address`. */
function forwarded(t: TestNode, address: string, method: string, path: string, headers: Record<string, string>, mode = 'server'): Promise<Reply> {
  return relayedRequest(t.paths.controlSocket, address, method, path, headers, mode);
}

interface LogLine {
  msg: string;
  status?: number;
  url?: string;
  code?: string;
  why?: string;
  remote?: string;
  principal?: string;
}
const lines = (t: TestNode): LogLine[] => t.logs.map((l) => JSON.parse(l) as LogLine);

async function system(t: TestNode, auth = HARRY): Promise<Record<string, number>> {
  const r = await t.request('GET', '/restful/system', { auth });
  assert.equal(r.status, 200);
  return r.json<{ node: { security: Record<string, number> } }>().node.security;
}

describe('throttle: growing delays, forgotten after a quiet while, bounded memory', () => {
  it('waits only after `free` failures, doubling each time up to maxMs; a success does not reset', () => {
    let now = 1_000_000;
    const th = new Throttle({ free: 2, baseMs: 1000, maxMs: 8000, forgetMs: 60_000, maxKeys: 10 }, () => now);
    assert.equal(th.idle, true);
    const waits = Array.from({ length: 7 }, () => th.fail('k').waitMs);
    assert.deepEqual(waits, [0, 0, 1000, 2000, 4000, 8000, 8000]);
    assert.equal(th.wait('k'), 8000);
    assert.equal(th.waitAny(['other', 'k']), 8000);
    now += 8000;
    assert.equal(th.wait('k'), 0);
    // Failing again goes on from where it was: waiting is not forgiving.
    assert.equal(th.fail('k').waitMs, 8000);
    now += 60_001 + 8000;
    assert.equal(th.fail('k').waitMs, 0, 'forgotten after a quiet while');
  });

  it('remembers at most maxKeys keys, the least recently failed going first', () => {
    const th = new Throttle({ free: 0, baseMs: 1000, maxMs: 1000, forgetMs: 60_000, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) th.fail(key);
    assert.equal(th.stats().keys, 3);
    assert.equal(th.wait('a'), 0);
    assert.ok(th.wait('d') > 0);
  });

  it('loopback and the control socket are no client address of their own', () => {
    for (const shared of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1', 'local', '']) assert.equal(addressKey(shared), undefined, shared);
    assert.equal(addressKey('203.0.113.7'), 'addr:203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), 'addr:203.0.113.7');
  });
});

describe('PIN guessing: 429 after a few wrong PINs, per credentials and per client address', () => {
  let t: TestNode;
  let sid: string;
  let tokens: TokenService;

  before(async () => {
    t = await startTestNode({ throttle: STRICT });
    tokens = t.node.tokens;
    sid = (await t.node.keyring.add({ pin: 'right-pin-4711', name: 'locked' })).sidHex;
    t.node.keyring.lock(sid);
  });
  after(async () => t?.destroy());

  it('a credential that sent wrong PINs waits (429, Retry-After), right PIN or not; others do not; nothing is revealed', async () => {
    for (let i = 0; i < STRICT.free + 1; i++) {
      const r = await t.request('GET', `${LIST}?pin=guess-${7300 + i}`);
      assert.equal(r.status, 200, `guess ${i}: ${r.text}`);
      assert.ok(!r.text.includes(sid));
    }
    const refused = await t.request('GET', `${LIST}?pin=guess-7399`);
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers['tendril-error'], 'PIN_TOO_MANY_FAILURES');
    assert.equal(refused.headers['retry-after'], String(STRICT.baseMs / 1000));
    assert.deepEqual(refused.json(), { http_status_code: 429, http_status_message: 'Too many wrong PINs' });
    // The right PIN is no different while waiting: a guesser learns nothing more.
    const right = await t.request('GET', `${LIST}?pin=right-pin-4711`);
    assert.equal(right.status, 429);
    assert.equal(t.node.keyring.find(sid), undefined, 'still locked');
    // Without a PIN the credential is served as ever.
    assert.equal((await t.request('GET', LIST)).status, 200);
    // Other credentials on the same (loopback) address are not held back.
    const ron = await t.request('GET', `${LIST}?pin=right-pin-4711`, { auth: RON });
    assert.equal(ron.status, 200);
    assert.ok(ron.text.includes(sid));
    t.node.keyring.lock(sid);
  });

  it('a client address that sent wrong PINs waits whatever credentials it uses; other addresses do not', async () => {
    const a = (await tokens.generate({ name: 'a' })).token;
    const b = (await tokens.generate({ name: 'b' })).token;
    for (let i = 0; i < STRICT.free + 1; i++) {
      assert.equal((await forwarded(t, '203.0.113.7', 'GET', `${LIST}?pin=addr-guess-${i}`, { 'X-Tendril-Token': a })).status, 200);
    }
    const other = await forwarded(t, '203.0.113.7', 'GET', `${LIST}?pin=right-pin-4711`, { 'X-Tendril-Token': b });
    assert.equal(other.status, 429, other.text);
    const elsewhere = await forwarded(t, '203.0.113.8', 'GET', `${LIST}?pin=right-pin-4711`, { 'X-Tendril-Token': b });
    assert.equal(elsewhere.status, 200, elsewhere.text);
    assert.ok(elsewhere.text.includes(sid));
    t.node.keyring.lock(sid);
  });

  it("the owner on the control socket is not made to wait (it could try PINs on the keyring file itself)", async () => {
    for (let i = 0; i < STRICT.free + 3; i++) {
      const r = await unixRequest(t.paths.controlSocket, 'GET', `${LIST}?pin=owner-typo-${i}`);
      assert.equal(r.status, 200, r.text);
    }
    const right = await unixRequest(t.paths.controlSocket, 'GET', `${LIST}?pin=right-pin-4711`);
    assert.ok(right.text.includes(sid));
    t.node.keyring.lock(sid);
  });

  it('wrong PINs are warnings in the log and figures in /restful/system; no PIN is written anywhere', async () => {
    const wrong = lines(t).filter((l) => l.msg === 'wrong PIN');
    assert.ok(wrong.length >= 2 * (STRICT.free + 1), `${wrong.length} wrong-PIN lines`);
    assert.ok(wrong.some((l) => l.principal === 'basic:harry' && l.remote === '127.0.0.1'));
    assert.ok(wrong.some((l) => l.remote === '203.0.113.7'));
    const refusal = lines(t).find((l) => l.msg === 'request completed' && l.status === 429);
    assert.equal(refusal?.code, 'PIN_TOO_MANY_FAILURES');
    assert.match(refusal?.why ?? '', /waiting out wrong PINs/);
    const all = t.logs.join('');
    assert.ok(!all.includes('guess-73') && !all.includes('right-pin-4711') && !all.includes('addr-guess') && !all.includes('owner-typo'), 'no PIN in the log');
    const figures = await system(t);
    assert.ok(figures.wrong_pins! >= 2 * (STRICT.free + 1), JSON.stringify(figures));
    assert.ok(figures.pin_attempts_refused! >= 2);
    assert.ok(figures.waiting_clients! >= 2);
  });
});

describe('a flood of PIN guesses: derivations one at a time, in turn, and downloads keep going', () => {
  let t: TestNode;
  let bid: string;
  let payload: Buffer;

  before(async () => {
    // A real cost per guess (32 MiB, 2 passes), so that guesses queue up.
    t = await startTestNode({ throttle: STRICT, pinKeyParams: { opsLimit: 2, memLimit: 32 * 1024 * 1024 } });
    await t.node.keyring.add({ pin: 'flood-right-pin', name: 'locked' }).then((i) => t.node.keyring.lock(i.sidHex));
    payload = Buffer.alloc(1024 * 1024, 'tendril payload ');
    const r = await insert(t, { manifest: 'service=file\nname=big.bin\n', payload });
    assert.equal(r.status, 201, r.text);
    bid = String(r.headers['serval-rhizome-bundle-id']);
  });
  after(async () => t?.destroy());

  it('raw.bin completes while guesses are still queued; excess guesses get 429 at once', async () => {
    const guessers = await Promise.all(Array.from({ length: 8 }, (_, i) => t.node.tokens.generate({ name: `guesser-${i}` })));
    let answered = 0;
    const guesses = guessers.flatMap(({ token }, g) =>
      Array.from({ length: 7 }, (_, i) =>
        t.request('GET', `${LIST}?pin=flood-${g}-${i}`, { auth: `Bearer ${token}` }).then((r) => {
          answered++;
          return r;
        }),
      ),
    );
    // Event-driven: wait until derivations are queued (the status says so), then download.
    for (let tries = 0; (await system(t)).pin_derivations_waiting === 0; tries++) assert.ok(tries < 2000 && answered < guesses.length, 'guesses never queued');
    const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
    const pendingWhenDownloaded = guesses.length - answered;
    assert.equal(raw.status, 200);
    assert.equal(createHash('sha256').update(raw.body).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    assert.ok(pendingWhenDownloaded > 0, 'the download finished while guesses were still waiting for their turn');
    const replies = await Promise.all(guesses);
    const statuses = replies.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join());
    const codes = new Set(replies.filter((r) => r.status === 429).map((r) => r.headers['tendril-error']));
    assert.ok(codes.size > 0, 'some guesses were refused');
    for (const code of codes) assert.ok(code === 'PIN_QUEUE_FULL' || code === 'PIN_TOO_MANY_FAILURES', String(code));
    // Each guesser paid for its own failures: at most free + 1 derivations each.
    assert.ok(statuses.filter((s) => s === 200).length <= guessers.length * (STRICT.free + 1));
  });
});

describe('failed Basic and token authentications: 429 after a few, per user and per client address', () => {
  let t: TestNode;

  before(async () => {
    t = await startTestNode({ throttle: STRICT });
  });
  after(async () => t?.destroy());

  it('a user whose password was failed waits, even with the right one; other users do not', async () => {
    for (let i = 0; i < STRICT.free + 1; i++) assert.equal((await t.request('GET', LIST, { auth: basic('harry', `wrong-${i}`) })).status, 401);
    const right = await t.request('GET', LIST, { auth: HARRY });
    assert.equal(right.status, 429, right.text);
    assert.equal(right.headers['tendril-error'], 'ACCESS_TOO_MANY_FAILURES');
    assert.ok(Number(right.headers['retry-after']) > 0);
    assert.equal((await t.request('GET', LIST, { auth: RON })).status, 200);
  });

  it('every user name is its own key, known or not: a 429 tells nothing about which names exist', async () => {
    for (let i = 0; i < STRICT.free + 1; i++) assert.equal((await t.request('GET', LIST, { auth: basic('nobody', `x${i}`) })).status, 401);
    assert.equal((await t.request('GET', LIST, { auth: basic('nobody', 'x') })).status, 429);
    assert.equal((await t.request('GET', LIST, { auth: basic('somebody', 'x') })).status, 401);
  });

  it('a client address that failed waits whatever it sends; other addresses do not', async () => {
    const good = (await t.node.tokens.generate({ name: 'good' })).token;
    for (let i = 0; i < STRICT.free + 1; i++) {
      assert.equal((await forwarded(t, '198.51.100.9', 'GET', LIST, { 'X-Tendril-Token': `tdk1_${String(i).repeat(43).slice(0, 43)}` })).status, 401);
    }
    assert.equal((await forwarded(t, '198.51.100.9', 'GET', LIST, { 'X-Tendril-Token': good })).status, 429);
    assert.equal((await forwarded(t, '198.51.100.10', 'GET', LIST, { 'X-Tendril-Token': good })).status, 200);
    // (harry waits since the first test: ron asks)
    const figures = await system(t, RON);
    assert.ok(figures.failed_authentications! >= 3 * (STRICT.free + 1));
    assert.ok(figures.authentications_refused! >= 3);
  });
});

describe('why a request was refused: the log line says which check and why, never a secret', () => {
  let t: TestNode;

  before(async () => {
    t = await startTestNode();
  });
  after(async () => t?.destroy());

  it('host, origin, cross-site, peer, credentials missing, unknown user, wrong password, unknown and expired tokens, read-only, legacy GET', async () => {
    const ro = await t.node.tokens.generate({ name: 'ro', readOnly: true });
    const expired = await t.node.tokens.generate({ name: 'short', expiresInMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    const cases: Array<[string, () => Promise<Reply>, number, string, RegExp]> = [
      ['host', () => t.request('GET', LIST, { headers: { Host: 'evil.example' } }), 403, 'ACCESS_HOST_FORBIDDEN', /host name "evil\.example" is not one of this server's names/],
      ['origin', () => t.request('GET', LIST, { headers: { Origin: 'http://evil.example' } }), 403, 'ACCESS_ORIGIN_FORBIDDEN', /origin http:\/\/evil\.example is not allowed/],
      ['cross-site', () => t.request('GET', LIST, { headers: { 'Sec-Fetch-Site': 'cross-site' } }), 403, 'ACCESS_CROSS_SITE', /Sec-Fetch-Site: cross-site without an Origin/],
      ['peer', () => forwarded(t, '192.0.2.1', 'GET', LIST, { Authorization: HARRY }, 'upstream'), 403, 'ACCESS_NOT_LOCAL', /peer 192\.0\.2\.1 is not on this host/],
      ['no credentials', () => t.request('GET', LIST, { auth: null }), 401, 'ACCESS_UNAUTHORIZED', /^credentials missing$/],
      ['unknown user', () => t.request('GET', LIST, { auth: basic('hacker-secret-in-name', 'pw-secret-1') }), 401, 'ACCESS_UNAUTHORIZED', /^unknown user$/],
      ['wrong password', () => t.request('GET', LIST, { auth: basic('harry', 'pw-secret-2') }), 401, 'ACCESS_UNAUTHORIZED', /^wrong password for user harry$/],
      ['unknown token', () => t.request('GET', LIST, { auth: `Bearer tdk1_${'Q'.repeat(43)}` }), 401, 'ACCESS_UNAUTHORIZED', /^unknown or revoked token$/],
      ['expired token', () => t.request('GET', LIST, { auth: `Bearer ${expired.token}` }), 401, 'ACCESS_UNAUTHORIZED', new RegExp(`^expired token ${expired.info.id}$`)],
      ['read-only', () => t.request('POST', '/restful/keyring/add', { auth: `Bearer ${ro.token}` }), 403, 'ACCESS_READ_ONLY', new RegExp(`read-only credentials token:${ro.info.id} on a write route`)],
      ['legacy GET', () => t.request('GET', '/restful/keyring/add'), 405, 'ACCESS_GET_WRITE', /legacy GET write/],
    ];
    for (const [what, send, status, code, why] of cases) {
      const r = await send();
      assert.equal(r.status, status, `${what}: ${r.text}`);
      const line = lines(t).reverse().find((l) => l.msg === 'request completed' && l.code === code);
      assert.ok(line, `${what}: a log line with code ${code}`);
      assert.match(line.why ?? '', why, what);
    }
    const all = t.logs.join('');
    for (const secret of ['pw-secret-1', 'pw-secret-2', 'hacker-secret-in-name', ro.token, expired.token, 'potter']) assert.ok(!all.includes(secret), `${secret} in the log`);
  });
});
