/**
 * API tokens over the REST API (`/restful/tokens`, the routes the web UI uses): a user of the node
 * makes, lists and revokes tokens; a token, read-only or not, may do none of it (403), so a leaked
 * token cannot mint a successor that outlives its own revocation or expiry; without credentials
 * it is 401 as everywhere; the secret is in the answer that made it and nowhere else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HARRY, RON, startTestNode, type TestNode } from '../helpers/node.js';

const TOKEN_RE = /^tdk1_[A-Za-z0-9_-]{43}$/;
const bearer = (token: string): { auth: string } => ({ auth: `Bearer ${token}` });

interface Made {
  readonly token: string;
  readonly info: { id: string; name: string; created_at: number; expires_at: number | null; read_only: boolean };
}

describe('API tokens through /restful/tokens', () => {
  let tn: TestNode;
  before(async () => {
    tn = await startTestNode();
  });
  after(() => tn.destroy());

  async function make(query: string, auth = HARRY): Promise<Made> {
    const reply = await tn.request('POST', `/restful/tokens${query}`, { auth });
    assert.equal(reply.status, 201, reply.text);
    const made = reply.json<Made & { http_status_code: number }>();
    assert.equal(made.http_status_code, 201);
    assert.match(made.token, TOKEN_RE);
    return made;
  }

  async function list(auth = HARRY): Promise<Array<Record<string, unknown>>> {
    const reply = await tn.request('GET', '/restful/tokens', { auth });
    assert.equal(reply.status, 200, reply.text);
    const table = reply.json<{ header: string[]; rows: unknown[][] }>();
    assert.deepEqual(table.header, ['id', 'name', 'created_at', 'expires_at', 'read_only']);
    return table.rows.map((row) => Object.fromEntries(table.header.map((h, i) => [h, row[i]])));
  }

  it('lets a user make a token that works at once, list it without its secret, and revoke it', async () => {
    const made = await make('?name=ui-made&expires=1d');
    assert.equal(made.info.name, 'ui-made');
    assert.equal(made.info.read_only, false);
    assert.ok(made.info.expires_at! > Date.now() + 23 * 3600_000);
    assert.equal((await tn.request('GET', '/restful/keyring/identities.json', bearer(made.token))).status, 200);

    const listing = await tn.request('GET', '/restful/tokens', { auth: RON });
    assert.equal(listing.status, 200, 'any user of the node may manage tokens');
    assert.ok(!listing.text.includes(made.token), 'no secret in the list');
    assert.ok((await list()).some((t) => t.id === made.info.id && t.name === 'ui-made'));

    const revoked = await tn.request('DELETE', `/restful/tokens/${made.info.id}`, { auth: HARRY });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json<{ info: { id: string } }>().info.id, made.info.id);
    assert.equal((await tn.request('GET', '/restful/keyring/identities.json', bearer(made.token))).status, 401);
    assert.ok(!(await list()).some((t) => t.id === made.info.id));
    assert.equal((await tn.request('DELETE', `/restful/tokens/${made.info.id}`, { auth: HARRY })).status, 404);
  });

  it('refuses every token route to a token, read-only or not, and changes nothing', async () => {
    const writer = await make('?name=writer');
    const reader = await make('?name=reader&read_only=1');
    assert.equal(reader.info.read_only, true);
    const before = await list();
    for (const { token } of [writer, reader]) {
      for (const [method, path] of [
        ['GET', '/restful/tokens'],
        ['POST', '/restful/tokens?name=child'],
        ['DELETE', `/restful/tokens/${writer.info.id}`],
      ] as const) {
        const reply = await tn.request(method, path, bearer(token));
        assert.equal(reply.status, 403, `${method} ${path}: ${reply.text}`);
        assert.equal(reply.headers['tendril-error'], 'ACCESS_USERS_ONLY');
        assert.ok(!reply.text.includes('tdk1_'), 'no secret in a refusal');
      }
    }
    // The write token can still write elsewhere: only token management is closed to it.
    assert.equal((await tn.request('POST', '/restful/keyring/add', bearer(writer.token))).status, 201);
    assert.deepEqual(await list(), before, 'no token made or revoked');
  });

  it('answers 401 without credentials, 400 for a bad lifetime or name, 405 for a wrong verb', async () => {
    const anonymous = await tn.request('GET', '/restful/tokens', { auth: null });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic /);
    assert.equal((await tn.request('POST', '/restful/tokens?expires=tomorrowish', { auth: HARRY })).status, 400);
    assert.equal((await tn.request('POST', `/restful/tokens?name=${'x'.repeat(300)}`, { auth: HARRY })).status, 400);
    assert.equal((await tn.request('PUT', '/restful/tokens', { auth: HARRY })).status, 405);
    assert.equal((await tn.request('DELETE', '/restful/tokens/nosuchtoken', { auth: HARRY })).status, 404);
  });

  it('keeps secrets out of the log', () => {
    const log = tn.logs.join('');
    assert.ok(log.includes('/restful/tokens'), 'the requests were logged');
    assert.ok(!/tdk1_[A-Za-z0-9_-]{43}/.test(log), 'no token in the log');
  });
});
