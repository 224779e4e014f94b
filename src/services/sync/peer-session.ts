/**
 * Everything a link does once both HELLOs are in (docs/sync.md §4–§6): reconciliation, OFFERs
 * both ways, WANTs, payload requests and the DATA that answers them, route updates. One per link.
 */
import type { Fetcher } from './fetcher.js';
import { parseIdentities, parseRoutes } from './hello.js';
import type { Link } from './link.js';
import { OfferOutbox } from './outbox.js';
import { PayloadRequests } from './payload-requests.js';
import { PayloadServer } from './payload-server.js';
import { ReconDriver } from './recon-driver.js';
import type { SyncItem } from './reconcile/fingerprint.js';
import { upperBound } from './reconcile/prefix.js';
import { ID_PREFIX_BYTES, type IdEntry, type ItemSource } from './reconcile/reconciler.js';
import type { PeerRoutes } from './routing.js';
import type { SyncStore } from './store-view.js';
import { FrameType, type Frame } from './wire/frames.js';
import { decodeId, decodeJsonObject, decodeNotHave, decodeOffer, decodeRequest, decodeWant, encodeJson, encodeNotHave, encodeWant } from './wire/messages.js';

const WANTS_PER_FRAME = 4096;
/** Versions the peer told us it holds (its offers), so we do not offer them back. */
const PEER_HAS_MAX = 8192;

export interface PeerSessionDeps {
  readonly store: SyncStore;
  readonly index: ItemSource;
  readonly fetcher: Fetcher;
  /** The peer's identities and routes changed. */
  readonly routes: (link: Link, routes: PeerRoutes) => void;
  readonly sessionEnded: (link: Link, messages: number, bytes: number, ms: number) => void;
}

export class PeerSession {
  readonly link: Link;
  readonly requests: PayloadRequests;
  readonly #deps: PeerSessionDeps;
  readonly #server: PayloadServer;
  readonly #outbox: OfferOutbox;
  readonly #recon: ReconDriver;
  /** bid hex → version, for what the peer offered us. */
  readonly #peerHas = new Map<string, bigint>();
  /** bid16 hex → when we asked; for the lag. */
  readonly #wanted = new Map<string, number>();
  #wantBuffer: IdEntry[] = [];
  #lastRoutes = '';

  constructor(link: Link, deps: PeerSessionDeps) {
    this.link = link;
    this.#deps = deps;
    this.requests = new PayloadRequests(link);
    this.#server = new PayloadServer(link, deps.store);
    this.#outbox = new OfferOutbox({
      link,
      store: deps.store,
      worthOffering: (bid, version) => this.#worthOffering(bid, version),
      overflowed: () => this.reconcile(),
    });
    this.#recon = new ReconDriver({
      link,
      source: deps.index,
      diffs: {
        offer: (item) => this.#offerKey(item),
        want: (id) => this.#want(id),
        flush: () => this.#flushWants(),
      },
      ended: (messages, bytes, ms) => deps.sessionEnded(link, messages, bytes, ms),
    });
    const hello = link.peer!;
    deps.routes(link, { identities: hello.identities, routes: hello.routes });
  }

  get reconciling(): boolean {
    return this.#recon.active;
  }

  get busy(): boolean {
    return this.requests.outstanding > 0 || this.#server.open > 0 || this.#outbox.pending > 0;
  }

  get wantsPending(): { count: number; since: number | undefined } {
    let since: number | undefined;
    for (const t of this.#wanted.values()) since = since === undefined ? t : Math.min(since, t);
    return { count: this.#wanted.size, since };
  }

  /** Starts a reconciliation session (the opener), or asks the peer for one (the acceptor). */
  reconcile(): void {
    this.#recon.start();
  }

  /** A bundle was just stored here. */
  stored(bundle: SyncItem): void {
    if (this.link.peerAccepts) this.#outbox.live(bundle);
  }

  /** Sends our routes if they changed since last sent. */
  sendRoutes(routes: PeerRoutes): void {
    const json = JSON.stringify(routes);
    if (json === this.#lastRoutes) return;
    const first = this.#lastRoutes === '';
    this.#lastRoutes = json;
    if (first) return; // the HELLO carried them
    void this.link.send(FrameType.ROUTES, encodeJson(routes)).catch(() => undefined);
  }

  closed(): void {
    this.requests.closeAll();
    this.#server.close();
    this.#outbox.close();
    this.#wanted.clear();
  }

  async frame(frame: Frame): Promise<void> {
    if (frame.type === FrameType.DATA) {
      await this.requests.data(frame.parts);
      return;
    }
    const body = frame.body;
    switch (frame.type) {
      case FrameType.RECON:
        this.#recon.receive(body);
        return;
      case FrameType.RESYNC:
        if (this.link.direction === 'outgoing') this.#recon.start();
        return;
      case FrameType.OFFER: {
        const got = await this.#deps.fetcher.offered(this, decodeOffer(body));
        if (got !== undefined) this.#noteHas(got.bid, got.version);
        return;
      }
      case FrameType.WANT:
        this.#serveWants(decodeWant(body));
        return;
      case FrameType.NOTHAVE:
        for (const id of decodeNotHave(body)) this.#wanted.delete(id.toString('hex'));
        return;
      case FrameType.REQUEST:
        await this.#server.request(decodeRequest(body));
        return;
      case FrameType.UNAVAILABLE:
        this.requests.unavailable(body);
        return;
      case FrameType.CANCEL:
        this.#server.cancel(decodeId(body).id);
        return;
      case FrameType.ROUTES: {
        const json = decodeJsonObject(body);
        this.#deps.routes(this.link, { identities: parseIdentities(json.identities), routes: parseRoutes(json.routes) });
        return;
      }
      default:
      // Unknown frame types are ignored: a later minor version may send them (docs/sync.md §3.3).
    }
  }

  #noteHas(bid: Buffer, version: bigint): void {
    const key = bid.toString('hex');
    this.#wanted.delete(key.slice(0, ID_PREFIX_BYTES * 2));
    this.#peerHas.delete(key);
    this.#peerHas.set(key, version);
    if (this.#peerHas.size > PEER_HAS_MAX) this.#peerHas.delete(this.#peerHas.keys().next().value!);
  }

  #worthOffering(bid: Buffer, version: bigint): boolean {
    if ((this.#peerHas.get(bid.toString('hex')) ?? 0n) >= version) return false;
    // Not back to the peer it is arriving from.
    return this.#deps.fetcher.sourceOf(bid) !== this.link;
  }

  async #offerKey(item: SyncItem): Promise<void> {
    if (this.link.peerAccepts) await this.#outbox.key(item);
  }

  async #want(id: IdEntry): Promise<void> {
    if (!this.link.weAccept) return;
    this.#wanted.set(id.bid16.toString('hex'), Date.now());
    this.#wantBuffer.push(id);
    if (this.#wantBuffer.length >= WANTS_PER_FRAME) await this.#flushWants();
  }

  async #flushWants(): Promise<void> {
    if (this.#wantBuffer.length === 0) return;
    const ids = this.#wantBuffer;
    this.#wantBuffer = [];
    await this.link.send(FrameType.WANT, encodeWant(ids));
  }

  /** Answers WANTs with OFFERs of what we hold under each id prefix, or NOTHAVE. */
  #serveWants(ids: readonly IdEntry[]): void {
    void (async () => {
      const missing: Buffer[] = [];
      for (const id of ids) {
        const from = Buffer.alloc(32);
        id.bid16.copy(from);
        const found = await this.#deps.store.keys(from, upperBound({ depth: ID_PREFIX_BYTES * 2, key: from }), 4);
        const offered = found.filter((k) => k.version >= id.version);
        if (offered.length === 0) missing.push(id.bid16);
        for (const k of offered) await this.#offerKey(k);
      }
      if (missing.length > 0) await this.link.send(FrameType.NOTHAVE, encodeNotHave(missing));
    })().catch(() => undefined);
  }
}
