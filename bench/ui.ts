/**
 * The web UI's weight and first render: headless Chromium loads /ui/ from a node on loopback
 * (the built daemon, as users run it) in a fresh browser context each time, so nothing is cached:
 *
 *   sign-in    no credentials: the page, its script and stylesheet, the probe that finds the node
 *              wants credentials, then the sign-in form
 *   dashboard  signed in (credentials in the session, as after a reload): the page, its assets,
 *              the check of the credentials, then the dashboard
 *
 * "First render" is the time from the start of navigation to the page's own mark
 * (`tendril-ui-rendered`, set once the first real screen is on the page); FCP is the browser's
 * first contentful paint ("Loading…" counts). Transferred bytes are those of every response up to
 * that mark, headers included, as they came over the wire (gzipped where the browser asked).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UI_DIR } from '../src/http/api/ui.js';
import { launchChromium } from '../test/helpers/browser.js';
import { fmt, makeInstance, removeInstance, startTendril } from './harness.js';

const RUNS = 12;
/** Budgets: a page for a small device on a slow link, drawn on loopback without waiting. */
const BYTES_TARGET = 100 * 1024;
const RENDER_TARGET_MS = 500;

interface Load {
  readonly bytes: number;
  readonly requests: number;
  readonly renderMs: number;
  readonly fcpMs: number;
}

export interface UiSummary {
  readonly runs: number;
  readonly bytes: number;
  readonly requests: number;
  readonly renderMs: { p50: number; min: number; max: number };
  readonly fcpMs: number;
}

export interface UiBench {
  readonly signIn: UiSummary;
  readonly dashboard: UiSummary;
  /** What the build wrote, as served without and with gzip. */
  readonly files: ReadonlyArray<{ name: string; bytes: number; gzipBytes: number | undefined }>;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function summarise(loads: readonly Load[]): UiSummary {
  const render = loads.map((l) => l.renderMs);
  return {
    runs: loads.length,
    bytes: median(loads.map((l) => l.bytes)),
    requests: median(loads.map((l) => l.requests)),
    renderMs: { p50: median(render), min: Math.min(...render), max: Math.max(...render) },
    fcpMs: median(loads.map((l) => l.fcpMs)),
  };
}

export async function benchUi(): Promise<UiBench> {
  const instance = await makeInstance({ 'log.level': 'warn' });
  const node = await startTendril(instance);
  const browser = await launchChromium();
  const base = `http://127.0.0.1:${node.port}`;
  try {
    const load = async (signedIn: boolean): Promise<Load> => {
      const context = await browser.newContext();
      if (signedIn) await context.addInitScript("sessionStorage.setItem('tendril.credentials', JSON.stringify({ user: 'harry', password: 'potter' }))");
      const page = await context.newPage();
      const finished: Array<Promise<number>> = [];
      page.on('requestfinished', (request) => {
        finished.push(request.sizes().then((s) => s.responseHeadersSize + s.responseBodySize));
      });
      await page.goto(`${base}/ui/`);
      // A function, not text: the page's CSP forbids eval. (Node's `performance` types the browser's.)
      await page.waitForFunction(() => performance.getEntriesByName('tendril-ui-rendered').length > 0);
      const [renderMs, fcpMs] = await page.evaluate<[number, number]>(
        "[performance.getEntriesByName('tendril-ui-rendered')[0].startTime, performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0]",
      );
      const sizes = await Promise.all(finished);
      await context.close();
      return { bytes: sizes.reduce((a, b) => a + b, 0), requests: sizes.length, renderMs, fcpMs };
    };
    await load(false); // warm the node's file cache and the browser's process
    const signIn: Load[] = [];
    const dashboard: Load[] = [];
    for (let i = 0; i < RUNS; i++) {
      signIn.push(await load(false));
      dashboard.push(await load(true));
    }
    const names = readdirSync(UI_DIR).filter((n) => !n.endsWith('.gz'));
    const size = (name: string): number | undefined => {
      try {
        return statSync(join(UI_DIR, name)).size;
      } catch {
        return undefined;
      }
    };
    const files = names.map((name) => ({ name, bytes: size(name)!, gzipBytes: size(`${name}.gz`) }));
    return { signIn: summarise(signIn), dashboard: summarise(dashboard), files };
  } finally {
    await browser.close();
    await node.stop();
    removeInstance(instance);
  }
}

export function reportUi(b: UiBench): string[] {
  const kib = (n: number): string => `${fmt(n / 1024, 1)} KiB`;
  const row = (label: string, s: UiSummary): string =>
    `| ${label} | ${kib(s.bytes)} in ${s.requests} requests | ${fmt(s.renderMs.p50, 0)} (${fmt(s.renderMs.min, 0)}–${fmt(s.renderMs.max, 0)}) | ${fmt(s.fcpMs, 0)} |`;
  const met = (ok: boolean): string => (ok ? 'met' : 'missed');
  const worst = Math.max(b.signIn.bytes, b.dashboard.bytes);
  const slowest = Math.max(b.signIn.renderMs.p50, b.dashboard.renderMs.p50);
  return [
    `| /ui/ in headless Chromium, loopback, ${b.signIn.runs} fresh loads each | transferred (median) | first render ms, p50 (min–max) | FCP ms, p50 |`,
    '|---|---:|---:|---:|',
    row('sign-in page (no credentials yet)', b.signIn),
    row('dashboard (signed in for the session)', b.dashboard),
    '',
    `Files: ${b.files.map((f) => `${f.name} ${kib(f.bytes)}${f.gzipBytes === undefined ? '' : ` (${kib(f.gzipBytes)} gzipped)`}`).join(', ')}.`,
    '',
    `Targets: at most ${kib(BYTES_TARGET)} transferred — **${met(worst <= BYTES_TARGET)}**; first render within ${RENDER_TARGET_MS} ms (p50) — **${met(slowest <= RENDER_TARGET_MS)}**.`,
  ];
}
