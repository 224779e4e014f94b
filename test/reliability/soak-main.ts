/**
 * `npm run soak`: the soak for TENDRIL_SOAK_SECONDS (default 600), its curve printed as it is
 * sampled, then the summary; the report as JSON to TENDRIL_SOAK_JSON if set. Exits 1 if anything
 * failed or grew.
 */
import { curveHeader, curveRow, formatSummary } from './soak-report.js';
import { runSoak } from './soak-run.js';

const seconds = Number(process.env.TENDRIL_SOAK_SECONDS ?? 600);
if (!(seconds >= 20)) throw new Error(`TENDRIL_SOAK_SECONDS must be at least 20, not ${process.env.TENDRIL_SOAK_SECONDS}`);
console.log(curveHeader());
const report = await runSoak({
  seconds,
  jsonPath: process.env.TENDRIL_SOAK_JSON,
  onSample: (sample, previous) => console.log(curveRow(sample, previous)),
});
console.log(`\n${formatSummary(report)}`);
process.exitCode = report.problems.length ? 1 : 0;
