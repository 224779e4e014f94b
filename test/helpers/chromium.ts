/**
 * Test support for the browser tests: Debian's Chromium, driven by playwright-core. Without
 * /usr/bin/chromium they are skipped, except under CI (CI set), where they fail: .ci/run installs
 * chromium, so a missing browser there is a broken setup, not a reason to pass.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** The `skip` option of a browser test's describe. */
export const CHROMIUM_SKIP: string | false = HAVE_CHROMIUM ? false : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser test`;

/** Under CI, a test that fails when the browser is missing; call at a browser test file's top level. */
export function requireChromiumUnderCi(): void {
  if ((process.env.CI ?? '') === '' || HAVE_CHROMIUM) return;
  it('finds Debian chromium (CI is set)', () => {
    assert.fail(`CI is set but ${CHROMIUM} is missing: .ci/run should have installed Debian's chromium`);
  });
}

/**
 * Root runs Chromium without its sandbox; the rest stop its background traffic (updates, sync,
 * safe browsing, QUIC probes), which this machine's closed network would refuse.
 */
const FLAGS = [
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

/** Starts headless Chromium with the flags above and `extra`. */
export async function launchChromium(extra: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extra], timeout: 60_000 });
}
