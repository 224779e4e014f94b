/**
 * The OFFERs waiting to go to one peer (docs/sync.md §6.1): bundles stored here since the link came
 * up (live, first) and bundles reconciliation or a WANT found the peer lacks, by id and version:
 * the manifest is read when the offer is sent, and the version then stored is offered.
 *
 * Memory stays bounded: reconciliation waits for room; live offers beyond the bound are dropped
 * and a reconciliation is asked for instead, which finds them again at the cost of a few bytes.
 */
import type { SyncItem } from './reconcile/fingerprint.js';
import type { Link } from './link.js';
import type { SyncStore } from './store-view.js';
import { FrameType } from './wire/frames.js';
import { encodeOffer } from './wire/messages.js';

const MAX_LIVE = 2_000;
const MAX_KEYS = 512;

export interface OutboxDeps {
  readonly link: Link;
  readonly store: SyncStore;
  /** False when the peer is known to hold this version or a newer one already. */
  readonly worthOffering: (bid: Buffer, version: bigint) => boolean;
  /** Live offers were dropped: the peer needs a reconciliation. */
  readonly overflowed: () => void;
}

export class OfferOutbox {
  readonly #deps: OutboxDeps;
  #live: SyncItem[] = [];
  #keys: SyncItem[] = [];
  #running = false;
  #overflow = false;
  #room: Array<() => void> = [];
  offered = 0;

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
  }

  get pending(): number {
    return this.#live.length + this.#keys.length;
  }

  /** A bundle just stored here. */
  live(bundle: SyncItem): void {
    if (this.#live.length >= MAX_LIVE) {
      this.#overflow = true;
      return;
    }
    this.#live.push(bundle);
    this.#kick();
  }

  /** A bundle the peer lacks; waits while too many are queued. */
  async key(item: SyncItem): Promise<void> {
    while (this.#keys.length >= MAX_KEYS && !this.#deps.link.closed) await new Promise<void>((resolve) => this.#room.push(resolve));
    if (this.#deps.link.closed) return;
    this.#keys.push(item);
    this.#kick();
  }

  close(): void {
    this.#live = [];
    this.#keys = [];
    for (const wake of this.#room.splice(0)) wake();
  }

  /**
   * Starts the sender unless it runs. It clears #running itself, in the same turn as it finds the
   * queues empty, so an offer queued just then is never left waiting for the next one.
   */
  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    const { link, store } = this.#deps;
    try {
      for (;;) {
        let key = this.#live.shift();
        if (key === undefined) {
          key = this.#keys.shift();
          if (key === undefined) break;
          this.#room.shift()?.();
        }
        if (!this.#deps.worthOffering(key.bid, key.version)) continue;
        const bundle = await store.get(key.bid);
        // Gone, or only an older version held: nothing to offer.
        if (bundle === undefined || bundle.version < key.version || link.closed) continue;
        if (!this.#deps.worthOffering(bundle.bid, bundle.version) || !(await store.servable(bundle))) continue;
        await link.send(FrameType.OFFER, encodeOffer(bundle.manifest));
        this.offered++;
      }
    } catch {
      // The link closed under us; it says why.
      return;
    } finally {
      this.#running = false;
    }
    if (this.#overflow) {
      this.#overflow = false;
      this.#deps.overflowed();
    }
  }
}
