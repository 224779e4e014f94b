/**
 * The soak, short (Reliability): 30 s of the mixed load with long-polls (TENDRIL_SOAK_SECONDS
 * overrides; `npm run soak` runs it for ten minutes). The node's RSS, descriptors and event-loop
 * delay stay flat and no request fails; soak-report.ts says how "flat" is judged.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatCurve, formatSummary } from './soak-report.js';
import { runSoak } from './soak-run.js';

const seconds = Number(process.env.TENDRIL_SOAK_SECONDS ?? 30);

it(`a ${seconds} s mixed load with long-polls: no request fails, RSS, descriptors and event-loop delay stay flat`, { timeout: (seconds + 180) * 1000 }, async (t) => {
  const report = await runSoak({ seconds, jsonPath: process.env.TENDRIL_SOAK_JSON });
  t.diagnostic(`\n${formatCurve(report)}\n${formatSummary(report)}`);
  assert.deepEqual(report.problems, []);
});
