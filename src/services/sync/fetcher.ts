/**
 * What this node fetches, from which peer, in what order (docs/sync.md §6.2). Every OFFER from
 * every link lands here; a bundle offered by several peers is fetched once, from one of them,
 * and from another if that transfer fails. Transfers run by priority — bundles for this node's
 * own identities first, then those for identities reachable through another peer, then the
 * rest — and within a class the smallest first, as the reference's mesh sync ranks them; at most
 * MAX_SMALL small and MAX_LARGE large transfers at once, so memory and disk traffic stay bounded.
 */
import { parseManifest } from '../../formats/manifest.js';
import type { Logger } from '../../log.js';
import type { RhizomeService } from '../rhizome/types.js';
import type { Link } from './link.js';
import { PARTIAL_MIN, type Partials } from './partials.js';
import type { SyncStore } from './store-view.js';
import { runTransfer, type TransferSource } from './transfer.js';

const MAX_SMALL = 32;
const MAX_LARGE = 2;
/** Requests one link may have open for us (the server's bound is higher). */
const PER_LINK = 32;
/** Manifest bytes held for offers not yet fetched; offers beyond are dropped (repair finds them). */
const MAX_CANDIDATE_BYTES = 32 * 1024 * 1024;
/** Bundle versions the store declined, remembered so their offers are not tried again. */
const MAX_DECLINED = 10_000;

export interface FetcherDeps {
  readonly rhizome: RhizomeService;
  readonly store: SyncStore;
  readonly partials: Partials;
  readonly log: Logger;
  /** 0: for one of our identities; 1: for one reachable through another peer than `from`; 2: other. */
  readonly recipientClass: (recipient: Buffer | undefined, from: Link) => number;
  /** A peer sent something that failed verification. */
  readonly rejected: (from: Link, why: string | undefined) => void;
}

interface Candidate {
  readonly key: string;
  /** The signed manifest only: a parsed one costs four times its size, and thousands may wait. */
  readonly signed: Buffer;
  readonly version: bigint;
  readonly size: number;
  readonly priority: number;
  readonly seq: number;
  readonly since: number;
  readonly sources: Set<TransferSource>;
}

interface Active {
  readonly version: bigint;
  readonly source: TransferSource;
  readonly since: number;
}

export class Fetcher {
  readonly #deps: FetcherDeps;
  readonly #candidates = new Map<string, Candidate>();
  /** Binary heaps of candidates by (priority, seq); entries no longer in #candidates are skipped. */
  readonly #smallHeap: Candidate[] = [];
  readonly #largeHeap: Candidate[] = [];
  readonly #active = new Map<string, Active>();
  readonly #declined = new Map<string, bigint>();
  #small = 0;
  #large = 0;
  #bytes = 0;
  #seq = 0;

  constructor(deps: FetcherDeps) {
    this.#deps = deps;
  }

  /** The link a bundle is being fetched from right now, if any: it is not offered back there. */
  sourceOf(bid: Buffer): Link | undefined {
    return this.#active.get(bid.toString('hex'))?.source.link;
  }

  /** An OFFER arrived. Resolves once it is queued or dismissed (never waits for the transfer). */
  async offered(src: TransferSource, signed: Buffer): Promise<{ bid: Buffer; version: bigint } | undefined> {
    let manifest;
    try {
      manifest = parseManifest(signed);
    } catch {
      manifest = undefined;
    }
    if (manifest === undefined || manifest.malformed || manifest.id === undefined || manifest.version === undefined || manifest.filesize === undefined) {
      this.#deps.rejected(src.link, 'unreadable manifest offered');
      return undefined;
    }
    const { id: bid, version } = manifest;
    if (!src.link.weAccept) return { bid, version };
    const key = bid.toString('hex');
    const held = await this.#deps.store.get(bid);
    if (held !== undefined && held.version >= version) return { bid, version };
    if (this.#declined.get(key) === version) return { bid, version };
    const active = this.#active.get(key);
    const known = this.#candidates.get(key);
    if ((active?.version ?? 0n) >= version) return { bid, version };
    if (known !== undefined && known.version >= version) {
      known.sources.add(src);
      return { bid, version };
    }
    if (this.#bytes + signed.length > MAX_CANDIDATE_BYTES) return { bid, version };
    if (known !== undefined) this.#forget(known);
    const size = Number(manifest.filesize);
    const klass = this.#deps.recipientClass(manifest.recipient, src.link);
    const candidate: Candidate = {
      key,
      signed: Buffer.from(signed),
      version,
      size,
      priority: klass * 64 + Math.floor(Math.log2(size + 1)),
      seq: this.#seq++,
      since: Date.now(),
      sources: new Set([src]),
    };
    this.#candidates.set(key, candidate);
    this.#bytes += signed.length;
    this.#push(candidate);
    this.#pump();
    return { bid, version };
  }

  /** A link closed: it is no source any more; its running transfers fail on their own. */
  sourceClosed(link: Link): void {
    for (const c of [...this.#candidates.values()]) {
      for (const s of c.sources) if (s.link === link) c.sources.delete(s);
      if (c.sources.size === 0) this.#forget(c);
    }
  }

  /** Bundles `link` offered that are still to come, and since when the oldest waits. */
  lag(link: Link): { bundles: number; since: number | undefined } {
    let bundles = 0;
    let since: number | undefined;
    const count = (from: number): void => {
      bundles++;
      since = since === undefined ? from : Math.min(since, from);
    };
    for (const c of this.#candidates.values()) if ([...c.sources].some((s) => s.link === link)) count(c.since);
    for (const a of this.#active.values()) if (a.source.link === link) count(a.since);
    return { bundles, since };
  }

  #forget(c: Candidate): void {
    if (this.#candidates.get(c.key) !== c) return;
    this.#candidates.delete(c.key);
    this.#bytes -= c.signed.length;
  }

  /** Starts what capacity allows, best first; a candidate that cannot start now waits its turn. */
  #pump(): void {
    for (const large of [false, true]) {
      const heap = large ? this.#largeHeap : this.#smallHeap;
      const blocked: Candidate[] = [];
      // Bounded: candidates held up by a busy link are set aside, but only so many per call.
      while (heap.length > 0 && blocked.length < 64 && (large ? this.#large < MAX_LARGE : this.#small < MAX_SMALL)) {
        const c = this.#pop(heap);
        if (this.#candidates.get(c.key) !== c) continue;
        const open = [...c.sources].filter((s) => !s.link.closed);
        if (open.length === 0) {
          this.#forget(c);
          continue;
        }
        const src = open.find((s) => s.requests.outstanding < PER_LINK);
        // An older version still arriving, or every source busy: later.
        if (this.#active.has(c.key) || src === undefined) blocked.push(c);
        else this.#start(c, src, large);
      }
      for (const c of blocked) this.#push(c);
    }
  }

  #start(c: Candidate, src: TransferSource, large: boolean): void {
    this.#forget(c);
    this.#active.set(c.key, { version: c.version, source: src, since: c.since });
    if (large) this.#large++;
    else this.#small++;
    void runTransfer(this.#deps, { manifest: parseManifest(c.signed), signed: c.signed }, src).then(({ outcome, reason }) => {
      if (large) this.#large--;
      else this.#small--;
      this.#active.delete(c.key);
      const log = src.link.log;
      switch (outcome) {
        case 'imported':
          src.link.stats.bundlesIn++;
          break;
        case 'declined':
          this.#decline(c);
          log.info({ bid: c.key, version: String(c.version), size: c.size }, 'bundle declined: the store would not keep it');
          break;
        case 'rejected':
          this.#deps.rejected(src.link, reason);
          break;
        case 'failed': {
          // Another peer that offered it may serve it; this one too, later, if it was busy.
          const others = [...c.sources].filter((s) => s !== src && !s.link.closed);
          if (others.length > 0 && !this.#candidates.has(c.key)) {
            const again = { ...c, sources: new Set(others), seq: this.#seq++ };
            this.#candidates.set(c.key, again);
            this.#bytes += again.signed.length;
            this.#push(again);
          }
          log.info({ bid: c.key, version: String(c.version), reason }, 'bundle transfer failed');
          break;
        }
        case 'have':
          break;
      }
      this.#pump();
    });
  }

  #decline(c: Candidate): void {
    this.#declined.set(c.key, c.version);
    if (this.#declined.size > MAX_DECLINED) this.#declined.delete(this.#declined.keys().next().value!);
  }

  #before(a: Candidate, b: Candidate): boolean {
    return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  #push(c: Candidate): void {
    const h = c.size >= PARTIAL_MIN ? this.#largeHeap : this.#smallHeap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(h: Candidate[]): Candidate {
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
