/**
 * Test support for crash campaigns: Rhizome writes made by concurrent clients (inserts of payloads
 * kept in the database and of payloads kept as files, journals created and grown by appends),
 * each recorded once its 201 has fully arrived, and the audit of a restarted node against that
 * record (test/helpers/store-audit.ts does the store's own checks).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { encodeMultipart, type PartSpec } from '../../src/http/multipart.js';
import { request, type Reply } from './node.js';
import { addParts, manifestFields } from './rhizome.js';
import { checkAckedBundles, sha512Hex, type AckedBundle, type RestartAudit } from './store-audit.js';

const BOUNDARY = 'LeDgErBoUnDaRy';
/** rhizome.max_blob_size is 128K by default: smaller payloads stay in the database. */
const FILE_SIZES = [150_000, 300_000] as const;
/** A journal this long takes no more appends, so the bytes kept in memory stay bounded. */
const JOURNAL_RETIRES_AT = 400_000;

/** POSTs a multipart form; undefined when the node died before the whole response arrived. */
export async function postForm(port: number, path: string, parts: readonly PartSpec[]): Promise<Reply | undefined> {
  const body = encodeMultipart(parts, BOUNDARY);
  try {
    return await request(port, 'POST', path, {
      headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': body.length },
      body,
    });
  } catch {
    return undefined;
  }
}

interface Journal {
  readonly bid: string;
  readonly secret: string;
  /** The acknowledged payload. */
  content: Buffer;
  /** An append whose outcome the kill hid: it may or may not have landed. */
  inFlight?: Buffer;
}

export class RhizomeLedger {
  readonly acked = new Map<string, AckedBundle>();
  readonly counts = { tinyInserts: 0, fileInserts: 0, journalsCreated: 0, appends: 0, appendsLandedUnacked: 0, appendsLostUnacked: 0 };
  /** Journals no client is appending to right now (a journal takes one append at a time). */
  private readonly idle: Journal[] = [];
  private readonly busy = new Set<Journal>();
  private n = 0;

  /** One insert or append; false when the node died under it. */
  async write(port: number): Promise<boolean> {
    const pick = randomInt(10);
    if (pick < 3) return this.insert(port, 'tiny', randomBytes(randomInt(1, 3000)));
    if (pick < 5) return this.insert(port, 'file', randomBytes(randomInt(...FILE_SIZES)));
    const journal = this.idle.length > 0 && pick < 9 ? this.idle.splice(randomInt(this.idle.length), 1)[0]! : undefined;
    return journal ? this.append(port, journal) : this.createJournal(port);
  }

  private async insert(port: number, kind: 'tiny' | 'file', payload: Buffer): Promise<boolean> {
    const r = await postForm(port, '/restful/rhizome/insert', addParts({ manifest: `name=${kind}${this.n++}\n`, payload }));
    if (!r) return false;
    this.ack(r, payload);
    if (kind === 'tiny') this.counts.tinyInserts++;
    else this.counts.fileInserts++;
    return true;
  }

  private async createJournal(port: number): Promise<boolean> {
    const payload = randomBytes(randomInt(1, 3000));
    const r = await postForm(port, '/restful/rhizome/append', addParts({ manifest: `name=journal${this.n++}\n`, payload }));
    if (!r) return false;
    const bid = this.ack(r, payload);
    this.counts.journalsCreated++;
    this.idle.push({ bid, secret: r.headers['serval-rhizome-bundle-secret'] as string, content: payload });
    return true;
  }

  private async append(port: number, journal: Journal): Promise<boolean> {
    this.busy.add(journal);
    const payload = randomBytes(randomInt(1, 60_000));
    journal.inFlight = payload;
    const r = await postForm(port, '/restful/rhizome/append', addParts({ bundleId: journal.bid, secret: journal.secret, manifest: '', payload }));
    if (!r) return false; // stays busy, with its append in flight, until the audit settles it
    journal.inFlight = undefined;
    journal.content = Buffer.concat([journal.content, payload]);
    this.ack(r, journal.content);
    this.counts.appends++;
    this.busy.delete(journal);
    if (journal.content.length < JOURNAL_RETIRES_AT) this.idle.push(journal);
    return true;
  }

  /** Records a 201 whose payload is `payload` (a journal's: all of it so far); returns the BID. */
  private ack(r: Reply, payload: Buffer): string {
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    // The signed manifest names exactly the bytes sent: checked here, so that after a restart a
    // byte-identical manifest proves the payload is the acknowledged one.
    assert.equal(f.get('filesize'), String(payload.length), 'the 201 manifest has the payload length sent');
    assert.equal(f.get('filehash'), sha512Hex(payload), 'the 201 manifest has the hash of the payload sent');
    const bid = f.get('id')!;
    const version = BigInt(f.get('version')!);
    const prior = this.acked.get(bid);
    if (!prior || prior.version < version) {
      this.acked.set(bid, { version, signed: r.body, payload: { length: payload.length, sha512: sha512Hex(payload) } });
    }
    return bid;
  }

  /**
   * After a restart: every acknowledged bundle is intact, and each journal whose append the kill
   * cut off holds either its acknowledged bytes or those plus the whole append, nothing between.
   * Such an append that landed becomes acknowledged. Returns how many bundles it checked.
   */
  async audit(port: number, store: RestartAudit): Promise<number> {
    const checked = await checkAckedBundles(port, store, this.acked);
    for (const journal of this.busy) {
      const payload = journal.inFlight!;
      const raw = (await request(port, 'GET', `/restful/rhizome/${journal.bid}/raw.bin`)).body;
      const landed = Buffer.concat([journal.content, payload]);
      if (raw.length === landed.length) {
        assert.ok(raw.equals(landed), `journal ${journal.bid}: the interrupted append landed whole`);
        journal.content = landed;
        this.counts.appendsLandedUnacked++;
      } else {
        assert.ok(raw.equals(journal.content), `journal ${journal.bid}: ${raw.length} bytes, the acknowledged ${journal.content.length} or those and the interrupted append's ${payload.length}`);
        this.counts.appendsLostUnacked++;
      }
      journal.inFlight = undefined;
      if (journal.content.length < JOURNAL_RETIRES_AT) this.idle.push(journal);
    }
    this.busy.clear();
    return checked;
  }
}
