/**
 * Debian's Chromium, headless, driven by playwright-core: for the browser tests of the docs page
 * and the web UI, and the UI's benchmark. Never a browser that a tool downloads itself.
 *
 * Without /usr/bin/chromium the browser tests are skipped, except under CI (CI set), where they
 * fail: .ci/run installs chromium, so a missing browser there is a broken setup, not a pass.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import type { Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const IN_CI = (process.env.CI ?? '') !== '';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** For describe(…, { skip }): false, or why the browser tests cannot run here. */
export const SKIP_WITHOUT_CHROMIUM: string | false = HAVE_CHROMIUM
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser tests`;

/** In CI, a test that fails when Chromium is missing (elsewhere, nothing: the browser tests skip). */
export function failWithoutChromiumInCi(): void {
  if (IN_CI && !HAVE_CHROMIUM) {
    it('finds Debian chromium (CI is set)', () => {
      assert.fail(`CI is set but ${CHROMIUM} is missing: .ci/run should have installed Debian's chromium`);
    });
  }
}

/**
 * Root runs Chromium without its sandbox; the rest stop its background traffic (updates, sync,
 * safe browsing, QUIC probes), which this machine's closed network would refuse.
 */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Starts Chromium with a fresh profile of its own (playwright makes one and removes it on close),
 * with `extra` flags beside the usual ones.
 */
export async function launchChromium(extra: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...extra], timeout: 60_000 });
}
