/**
 * Test support for crash campaigns: MeshMS messages sent by concurrent clients between a few
 * identities, each recorded once its 201 has fully arrived, and the audit of a restarted node:
 * both ends of each conversation list exactly the messages sent, in the order sent, every
 * acknowledged one among them, and those whose send the kill cut off either whole or not at all.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { request } from './node.js';
import { postForm } from './ledger-rhizome.js';
import { TEXT_UTF8, type MessageList } from './meshms.js';

/** Characters that must survive: multi-byte UTF-8, a surrogate pair, JSON escapes. */
const ALPHABET = ['a', 'b', 'z', ' ', 'é', 'ß', '✉', '🦀', '"', '\\', '\n', '\t'];

interface Sent {
  readonly text: string;
  /** False while the kill hides whether it landed. */
  acked: boolean;
}

/** One direction of one conversation; it carries one send at a time, so the order sent is known. */
interface Direction {
  readonly from: string;
  readonly to: string;
  sent: Sent[];
}

/** The texts of `type` rows (`>` sent, `<` received), oldest first. */
async function texts(port: number, my: string, their: string, type: '>' | '<'): Promise<string[]> {
  const r = await request(port, 'GET', `/restful/meshms/${my}/${their}/messagelist.json`);
  assert.equal(r.status, 200, r.text);
  return r
    .json<MessageList>()
    .rows.filter((row) => row[0] === type)
    .map((row) => row[6]!)
    .reverse();
}

/** Sequences compared with a short message: a whole conversation in a diff would bury the point. */
function assertSameSequence(actual: readonly string[], expected: readonly string[], what: string): void {
  const at = actual.findIndex((t, i) => t !== expected[i]);
  const first = at === -1 && actual.length !== expected.length ? Math.min(actual.length, expected.length) : at;
  if (first === -1) return;
  const show = (t: string | undefined): string => (t === undefined ? '(none)' : JSON.stringify(t.slice(0, 40)));
  assert.fail(`${what}: ${actual.length} messages, expected ${expected.length}; first difference at #${first}: ${show(actual[first])} instead of ${show(expected[first])}`);
}

export class MeshmsLedger {
  readonly counts = { sends: 0, landedUnacked: 0, lostUnacked: 0 };
  private readonly directions: Direction[] = [];
  private idle: Direction[] = [];
  private n = 0;

  /** Every ordered pair of `sids` is a direction: each identity writes to every other. */
  constructor(sids: readonly string[]) {
    for (const from of sids) for (const to of sids) if (from !== to) this.directions.push({ from, to, sent: [] });
    this.idle = [...this.directions];
  }

  canWrite(): boolean {
    return this.idle.length > 0;
  }

  /** One sendmessage; false when the node died under it. */
  async write(port: number): Promise<boolean> {
    const d = this.idle.splice(randomInt(this.idle.length), 1)[0]!;
    const text = `#${this.n++} ` + Array.from({ length: randomInt(1, 300) }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    const sent: Sent = { text, acked: false };
    d.sent.push(sent);
    const r = await postForm(port, `/restful/meshms/${d.from}/${d.to}/sendmessage`, [{ name: 'message', contentType: TEXT_UTF8, body: text }]);
    if (!r) return false; // the direction stays busy until the audit settles the send
    assert.equal(r.status, 201, r.text);
    sent.acked = true;
    this.counts.sends++;
    this.idle.push(d);
    return true;
  }

  /** After a restart; returns how many acknowledged messages it found at both ends. */
  async audit(port: number): Promise<number> {
    let checked = 0;
    for (const d of this.directions) {
      const mine = await texts(port, d.from, d.to, '>');
      const listed = new Set(mine);
      // What may be listed: everything sent in this direction, in order, less interrupted sends
      // that did not land. Anything else (a lost, duplicated, reordered or altered message) differs.
      const expected = d.sent.filter((s) => s.acked || listed.has(s.text)).map((s) => s.text);
      assertSameSequence(mine, expected, `${d.from.slice(0, 8)}→${d.to.slice(0, 8)}, as the sender lists it`);
      assertSameSequence(await texts(port, d.to, d.from, '<'), mine, `${d.from.slice(0, 8)}→${d.to.slice(0, 8)}, as the recipient lists it`);
      for (const s of d.sent) {
        if (s.acked) checked++;
        else if (listed.has(s.text)) this.counts.landedUnacked++;
        else this.counts.lostUnacked++;
      }
      // Settled: what landed counts as sent from now on, what did not never will.
      d.sent = d.sent.filter((s) => s.acked || listed.has(s.text));
      for (const s of d.sent) s.acked = true;
    }
    this.idle = [...this.directions];
    return checked;
  }
}
