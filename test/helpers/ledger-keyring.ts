/**
 * Test support for crash campaigns: keyring changes made by concurrent clients (adds with and
 * without a PIN, DID/Name updates, removals), each recorded once its response has fully arrived,
 * and the audit of a restarted node: every acknowledged change is there, a change the kill cut off
 * is there whole or not at all, and nothing else is.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { InstancePaths } from '../../src/node/instance.js';
import { decodeKeyringFile } from '../../src/store/keyring-file.js';
import { request, type Reply } from './node.js';

const PIN = 'crash pin';
const LIST = '/restful/keyring/identities.json';

interface Values {
  readonly did: string;
  readonly name: string;
}

interface Known extends Values {
  readonly sid: string;
  readonly identity: string;
  readonly pin: string | undefined;
  /** A change whose outcome the kill hid. */
  inFlight?: Values | 'remove';
}

interface NewIdentity extends Values {
  readonly pin: string | undefined;
}

async function attempt(port: number, method: string, path: string): Promise<Reply | undefined> {
  try {
    return await request(port, method, path);
  } catch {
    return undefined;
  }
}

/** The keyring file as the kill left it parses whole; beside it at most temporaries of interrupted writes. */
export function auditKeyringAsKilled(paths: InstancePaths): void {
  assert.doesNotThrow(() => decodeKeyringFile(readFileSync(paths.keyringFile)), 'the keyring file is whole');
  for (const f of readdirSync(paths.root).filter((f) => f.startsWith('keyring.tdk') && f !== 'keyring.tdk')) {
    assert.match(f, /^keyring\.tdk\.tmp-\d+-[0-9a-f]{12}$/);
  }
}

export class KeyringLedger {
  readonly counts = { adds: 0, updates: 0, removes: 0, landedUnacked: 0, lostUnacked: 0 };
  /** Identities no client is changing right now (an identity takes one change at a time). */
  private idle: Known[] = [];
  private readonly busy = new Set<Known>();
  private readonly removed = new Set<string>();
  /** Adds whose outcome the kill hid, by their (unique) name. */
  private readonly addsInFlight = new Map<string, NewIdentity>();
  private n = 0;

  /** `reserved`: identities other ledgers use; listed always, never changed here. */
  constructor(private readonly reserved: ReadonlySet<string>) {}

  /** One add, update or removal; false when the node died under it. */
  async write(port: number): Promise<boolean> {
    const pick = randomInt(10);
    if (this.idle.length === 0 || pick < 4) return this.add(port);
    const k = this.idle.splice(randomInt(this.idle.length), 1)[0]!;
    this.busy.add(k);
    return pick < 8 ? this.update(port, k) : this.remove(port, k);
  }

  private async add(port: number): Promise<boolean> {
    const n = this.n++;
    const sent: NewIdentity = { name: `add${n}`, did: n % 2 === 0 ? `555${n}0` : '', pin: n % 3 === 0 ? PIN : undefined };
    this.addsInFlight.set(sent.name, sent);
    const q = new URLSearchParams({ name: sent.name });
    if (sent.did !== '') q.set('did', sent.did);
    if (sent.pin !== undefined) q.set('pin', sent.pin);
    const r = await attempt(port, 'POST', `/restful/keyring/add?${q.toString()}`);
    if (!r) return false;
    assert.equal(r.status, 201, r.text);
    const id = r.json<{ identity: { sid: string; identity: string; did: string; name: string } }>().identity;
    assert.deepEqual([id.did, id.name], [sent.did, sent.name], 'the 201 has the DID and Name sent');
    this.addsInFlight.delete(sent.name);
    this.idle.push({ ...sent, sid: id.sid, identity: id.identity });
    this.counts.adds++;
    return true;
  }

  private async update(port: number, k: Known): Promise<boolean> {
    // DID only, Name only, or both: a field left out must keep its value.
    const which = randomInt(3);
    const n = this.n++;
    const next: Values = { did: which === 1 ? k.did : randomInt(2) === 0 ? '' : `777${n}0`, name: which === 0 ? k.name : `upd${n}` };
    k.inFlight = next;
    const q = new URLSearchParams();
    if (which !== 1) q.set('did', next.did);
    if (which !== 0) q.set('name', next.name);
    if (k.pin !== undefined) q.set('pin', k.pin);
    const r = await attempt(port, 'PATCH', `/restful/keyring/${k.sid}?${q.toString()}`);
    if (!r) return false; // stays busy, its change in flight, until the audit settles it
    assert.equal(r.status, 200, r.text);
    const id = r.json<{ identity: Values }>().identity;
    assert.deepEqual([id.did, id.name], [next.did, next.name], 'the update answers with the new values');
    this.busy.delete(k);
    this.idle.push({ ...k, ...next, inFlight: undefined });
    this.counts.updates++;
    return true;
  }

  private async remove(port: number, k: Known): Promise<boolean> {
    k.inFlight = 'remove';
    const r = await attempt(port, 'DELETE', `/restful/keyring/${k.sid}${k.pin === undefined ? '' : `?pin=${encodeURIComponent(k.pin)}`}`);
    if (!r) return false;
    assert.equal(r.status, 200, r.text);
    this.busy.delete(k);
    this.removed.add(k.sid);
    this.counts.removes++;
    return true;
  }

  /** After a restart (before anything has entered the PIN); returns how many identities it checked. */
  async audit(port: number): Promise<number> {
    const list = async (query: string): Promise<Map<string, unknown[]>> => {
      const r = await request(port, 'GET', LIST + query);
      assert.equal(r.status, 200, r.text);
      return new Map(r.json<{ rows: unknown[][] }>().rows.map((row) => [row[0] as string, row.slice(1)]));
    };
    const plain = await list('');
    const all = await list(`?pin=${encodeURIComponent(PIN)}`);
    for (const sid of this.reserved) assert.ok(plain.has(sid), `identity ${sid} (used for MeshMS) is listed`);
    for (const sid of this.removed) assert.equal(all.has(sid), false, `identity ${sid} was removed and stays removed`);
    const sealed = (sid: string, pin: string | undefined, what: string): void =>
      assert.equal(plain.has(sid), pin === undefined, `${what}: sealed under ${pin === undefined ? 'no PIN' : 'its PIN'}`);

    const known: Known[] = [];
    for (const k of [...this.idle, ...this.busy]) {
      const row = all.get(k.sid);
      if (!row && k.inFlight === 'remove') {
        this.removed.add(k.sid);
        this.counts.landedUnacked++;
        continue;
      }
      assert.ok(row, `identity ${k.name} (${k.sid}) was acknowledged and is listed`);
      const [identity, did, name] = row as [string, string, string];
      assert.equal(identity, k.identity, `${k.name}: its signing key`);
      sealed(k.sid, k.pin, k.name);
      const update = typeof k.inFlight === 'object' ? k.inFlight : undefined;
      const asAcked = did === k.did && name === k.name;
      const asInFlight = update !== undefined && did === update.did && name === update.name;
      assert.ok(asAcked || asInFlight, `${k.name}: DID/Name ${did}/${name} is the acknowledged ${k.did}/${k.name}${update ? ` or the interrupted ${update.did}/${update.name}` : ''}`);
      if (update && !asAcked) this.counts.landedUnacked++;
      else if (k.inFlight !== undefined) this.counts.lostUnacked++;
      known.push({ ...k, did, name, inFlight: undefined });
    }
    const checked = known.length;
    // Anything else listed must be an add the kill cut off, whole and as sent.
    const mine = new Set([...known.map((k) => k.sid), ...this.reserved]);
    for (const [sid, [identity, did, name]] of all) {
      if (mine.has(sid)) continue;
      const sent = this.addsInFlight.get(name as string);
      assert.ok(sent, `identity ${sid} (${String(name)}) is one this test added`);
      assert.equal(did, sent.did, `${sent.name}: its DID as sent`);
      sealed(sid, sent.pin, sent.name);
      known.push({ ...sent, sid, identity: identity as string });
      this.addsInFlight.delete(sent.name);
      this.counts.landedUnacked++;
    }
    this.counts.lostUnacked += this.addsInFlight.size;
    this.addsInFlight.clear();
    this.busy.clear();
    this.idle = known;
    return checked;
  }
}
