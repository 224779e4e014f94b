/**
 * The API description and the interactive docs page. The page is Swagger UI served from the
 * installed package, never a CDN: nodes are often offline. Its Authorize button offers HTTP
 * Basic, a Bearer token and the X-Tendril-Token header, as the OpenAPI document declares.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fail } from '../../errors.js';
import { buildOpenApi } from '../openapi.js';
import type { Route } from '../router.js';
import type { BodyResult, Handler } from '../types.js';

// A Map, not an object literal: the file name comes from the request, and `ASSETS[file]` would
// find `constructor`, `__proto__` and the rest of Object.prototype (GET /docs/constructor was a 500).
const ASSETS: ReadonlyMap<string, string> = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['swagger-ui-standalone-preset.js', 'text/javascript; charset=utf-8'],
  ['favicon-16x16.png', 'image/png'],
  ['favicon-32x32.png', 'image/png'],
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tendril REST API</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl: null, or Swagger UI shows a badge loaded from validator.swagger.io that sends it
// the document's URL. Credentials live in the page's memory only (persistAuthorization: false).
// Requests go out with credentials 'omit': the Authorization header the page sets is still sent,
// but a 401 (which carries WWW-Authenticate: Basic, as the reference's does) comes back to the
// page instead of opening the browser's own login prompt, and the browser's remembered Basic
// credentials are never added behind the user's back.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: false,
  validatorUrl: null,
  requestInterceptor: (request) => {
    request.credentials = 'omit';
    return request;
  },
});
`;

/**
 * The page is where credentials are typed, so it runs only its own scripts and talks only to this
 * server: nothing can be injected into it or loaded from elsewhere, and no other site may frame it
 * (clickjacking the Authorize dialog). Swagger UI sets inline styles, and shows icons as data: URLs.
 */
const PAGE_HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
    "font-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

function body(contentType: string, bytes: Buffer): BodyResult {
  return { kind: 'body', status: 200, contentType, body: bytes, length: bytes.length, headers: PAGE_HEADERS };
}

export interface DocsHandlers {
  readonly openapi: Handler;
  readonly page: Handler;
  readonly asset: Handler;
}

/** Handlers for `/openapi.json`, `/docs` and `/docs/ASSET`, describing `routes()`. */
export function docsHandlers(routes: () => readonly Route[]): DocsHandlers {
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Buffer>();
  let document: Buffer | undefined;
  return {
    openapi() {
      document ??= Buffer.from(`${JSON.stringify(buildOpenApi(routes()), null, 2)}\n`, 'utf8');
      return body('application/json', document);
    },
    page() {
      return body('text/html; charset=utf-8', Buffer.from(PAGE, 'utf8'));
    },
    asset(ctx) {
      const file = ctx.params.file!;
      if (file === 'init.js') return body('text/javascript; charset=utf-8', Buffer.from(INIT, 'utf8'));
      const type = ASSETS.get(file);
      if (!type) fail('HTTP_NOT_FOUND');
      let bytes = cache.get(file);
      if (!bytes) {
        bytes = readFileSync(join(dist, file));
        cache.set(file, bytes);
      }
      return body(type, bytes);
    },
  };
}
