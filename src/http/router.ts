/**
 * Route matching for the one route table (src/http/routes.ts).
 *
 * Patterns are literal paths with typed parameters in braces, e.g.
 * `/restful/rhizome/{bid:hex64}.rhm` or `/restful/meshms/{my:sid}/{their:sid}/recv/{offset:uint}/read`.
 * Routes belong to a family (an API prefix). The reference answers a wrong verb on a known path
 * with 405 in Rhizome, MeshMS and MeshMB but 404 in Keyring and Route (spec §9.1 #11); the
 * family carries that choice.
 */
import type { Handler } from './types.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Family {
  readonly name: string;
  /** Requests whose decoded path starts with this belong to the family. */
  readonly prefix: string;
  readonly wrongMethod: 404 | 405;
  /** Families that need the Rhizome store answer 404 while it is disabled (spec §1.1). */
  readonly needsRhizome: boolean;
  /** Families outside the Serval API (docs, OpenAPI) skip the credential check. */
  readonly public?: boolean;
  /**
   * What a web server must serve (`--serve`) for this family to be found on it: `api` (the
   * default), `metrics`, `sync` or `direct`; `any`: every server (the health check). Elsewhere the
   * family answers 404, as if it did not exist.
   */
  readonly serve?: 'api' | 'metrics' | 'sync' | 'direct' | 'any';
  /** The family is this one path, not every path under it (`/`, which would otherwise take them all). */
  readonly exact?: boolean;
  /**
   * The media type of this family's POST bodies when they are not multipart/form-data (the
   * frames of a Tendril sync link); anything else is 415.
   */
  readonly rawBody?: string;
  /**
   * `html`: results and errors are the reference's HTML status page (src/http/html-result.ts),
   * as servald answers outside /restful/. Default: JSON results.
   */
  readonly resultFormat?: 'json' | 'html';
  /**
   * True: a request carrying an Origin header (a browser's: a page of some other site) is refused
   * with 403. For families whose clients are never browsers and that take no credentials, so a
   * page cannot use a visitor's browser to reach them.
   */
  readonly refuseBrowsers?: boolean;
}

export interface QueryDoc {
  readonly name: string;
  readonly doc: string;
}

export interface Route {
  readonly method: Method;
  readonly path: string;
  readonly family: Family;
  /**
   * `read` routes change nothing the caller can see; read-only credentials may use only these.
   * `manage` routes manage credentials (API tokens): a user of the node may use them, an API token
   * never, so a leaked token cannot make itself a successor that outlives its revocation or expiry.
   */
  readonly scope: 'read' | 'write' | 'manage';
  /** `multipart`: the route reads a multipart/form-data body. */
  readonly body: 'none' | 'multipart';
  readonly summary: string;
  readonly query?: readonly QueryDoc[];
  /** Never offered on TCP listeners: only the owner-only control socket serves it. */
  readonly controlOnly?: boolean;
  /** Success statuses, for the OpenAPI description (default: 200, or 201 for a POST that writes). */
  readonly ok?: readonly number[];
  /**
   * The request must carry no body: a Content-Length other than 0 is 400 "Bad content length",
   * checked before the verb as the reference's MeshMS read endpoints do (spec §4.3).
   */
  readonly emptyBody?: boolean;
  readonly handler: Handler;
}

const PARAM_KINDS: Record<string, string> = {
  hex64: '[0-9A-Fa-f]{64}',
  sid: '[0-9A-Fa-f]{64}|broadcast',
  token: '[A-Za-z0-9_=-]+',
  uint: '[0-9]{1,20}',
  segment: '[^/]+',
  /** Anything, including nothing: text the reference ignores after a path (MeshMB follow). */
  ignored: '.*',
};

interface Compiled {
  readonly route: Route;
  readonly re: RegExp;
  readonly names: readonly string[];
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(route: Route): Compiled {
  const names: string[] = [];
  let source = '';
  let rest = route.path;
  for (let m = /\{(\w+):(\w+)\}/.exec(rest); m; m = /\{(\w+):(\w+)\}/.exec(rest)) {
    const kind = PARAM_KINDS[m[2]!];
    if (kind === undefined) throw new Error(`route ${route.path}: unknown parameter kind ${m[2]}`);
    source += `${escapeRe(rest.slice(0, m.index))}(${kind})`;
    names.push(m[1]!);
    rest = rest.slice(m.index + m[0].length);
  }
  return { route, re: new RegExp(`^${source}${escapeRe(rest)}$`), names };
}

export type Match =
  | { readonly kind: 'route'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'wrong-method'; readonly family: Family; readonly route: Route }
  | { readonly kind: 'none' };

export class Router {
  private readonly compiled: readonly Compiled[];
  readonly families: readonly Family[];
  /** The families with at least one route that is not control-only: all a TCP listener knows. */
  private readonly tcpFamilies: readonly Family[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map(compile);
    // Longest prefix first, as the reference dispatches (spec §1.9).
    const byPrefix = (list: readonly Route[]): Family[] =>
      [...new Set(list.map((r) => r.family))].sort((a, b) => b.prefix.length - a.prefix.length);
    this.families = byPrefix(routes);
    this.tcpFamilies = byPrefix(routes.filter((r) => !r.controlOnly));
  }

  /**
   * The family whose prefix the path falls under, if any. With `control` false (a TCP listener)
   * control-only routes do not exist: their paths are unknown, not merely refused.
   */
  family(path: string, control = true): Family | undefined {
    return (control ? this.families : this.tcpFamilies).find((f) => (f.exact ? path === f.prefix : path.startsWith(f.prefix)));
  }

  match(method: string, path: string, control = true): Match {
    let other: Route | undefined;
    for (const c of this.compiled) {
      if (c.route.controlOnly && !control) continue;
      const m = c.re.exec(path);
      if (!m) continue;
      if (c.route.method !== method) {
        other = c.route;
        continue;
      }
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => (params[name] = m[i + 1]!));
      return { kind: 'route', route: c.route, params };
    }
    return other ? { kind: 'wrong-method', family: other.family, route: other } : { kind: 'none' };
  }
}
