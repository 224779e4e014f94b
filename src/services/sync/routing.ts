/**
 * Who is reachable through sync links, for `GET /restful/route/all.json` (spec §6.1) and for
 * transfer priorities. Each peer's HELLO (and later ROUTES frames) names its own identities,
 * primary first, and the SIDs it reaches through its other links with its hop count to each.
 * This table keeps, for every SID, the shortest way: the reference's layout, where a neighbour's
 * primary SID is one hop away (unicast), its secondary SIDs two (indirect, through the primary),
 * and whatever the neighbour reaches one hop more than it does.
 *
 * Distance vector with split horizon (a route is never advertised back over the link it came
 * from) and a hop limit, so a route that disappears cannot count upwards for long.
 */
import type { RouteAdvert } from './hello.js';
import type { Link } from './link.js';

export const MAX_HOPS = 16;

export interface Route {
  readonly sid: string;
  readonly hops: number;
  readonly link: Link;
  readonly unicast: boolean;
  /** The neighbour's primary SID, when the route goes through it. */
  readonly firstHop: string | undefined;
  readonly penultimateHop: string | undefined;
}

export interface PeerRoutes {
  readonly identities: readonly string[];
  readonly routes: readonly RouteAdvert[];
}

export class RouteTable {
  readonly #peers = new Map<Link, PeerRoutes>();
  #best = new Map<string, Route>();
  readonly #self: () => readonly string[];
  readonly #changed: () => void;

  constructor(self: () => readonly string[], changed: () => void) {
    this.#self = self;
    this.#changed = changed;
  }

  update(link: Link, routes: PeerRoutes): void {
    this.#peers.set(link, routes);
    this.#recompute();
  }

  /** Our own identities changed: what we advertise changed, and a route to one of them is moot. */
  selfChanged(): void {
    this.#recompute();
    this.#changed();
  }

  remove(link: Link): void {
    if (this.#peers.delete(link)) this.#recompute();
  }

  routes(): Route[] {
    return [...this.#best.values()];
  }

  /** The link a SID is best reached through. */
  via(sid: Buffer | string): Link | undefined {
    return this.#best.get(typeof sid === 'string' ? sid.toUpperCase() : sid.toString('hex').toUpperCase())?.link;
  }

  /** What we tell `link`: our identities, and every route that does not go through it. */
  advertFor(link: Link): PeerRoutes {
    const routes: RouteAdvert[] = [];
    for (const r of this.#best.values()) if (r.link !== link && r.hops < MAX_HOPS) routes.push([r.sid, r.hops]);
    return { identities: [...this.#self()], routes };
  }

  #recompute(): void {
    const self = new Set(this.#self());
    const best = new Map<string, Route>();
    const offer = (r: Route): void => {
      if (self.has(r.sid) || r.hops > MAX_HOPS) return;
      const known = best.get(r.sid);
      if (known === undefined || r.hops < known.hops) best.set(r.sid, r);
    };
    for (const [link, { identities, routes }] of this.#peers) {
      const primary = identities[0];
      identities.forEach((sid, i) =>
        offer({ sid, hops: i === 0 ? 1 : 2, link, unicast: i === 0, firstHop: i === 0 ? undefined : primary, penultimateHop: i === 0 ? undefined : primary }),
      );
      for (const [sid, hops] of routes) offer({ sid, hops: hops + 1, link, unicast: false, firstHop: primary, penultimateHop: undefined });
    }
    const before = this.#best;
    this.#best = best;
    const same = before.size === best.size && [...best].every(([sid, r]) => before.get(sid)?.hops === r.hops && before.get(sid)?.link === r.link);
    if (!same) this.#changed();
  }
}
