/**
 * The client's generated types (src/client/generated/api.ts) are what scripts/client-types.ts
 * makes from the current route table: a route added, removed or changed without regenerating
 * fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { generateClientTypes, TYPES_FILE } from '../../scripts/client-types.js';

it('the committed client types match the OpenAPI document of the route table', async () => {
  const fresh = await generateClientTypes();
  assert.ok(fresh.includes('"/restful/rhizome/insert"') && fresh.includes('"/control/tokens"'), 'the document covers API and control routes');
  assert.ok(readFileSync(TYPES_FILE, 'utf8') === fresh, 'src/client/generated/api.ts is stale: run npm run client-types');
});
