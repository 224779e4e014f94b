/**
 * The installed command (README "Installing the command"): `npm install -g .` or `npm link` in
 * the clone puts a symbolic link to bin/tendril.js on the user's PATH. Run through such a link,
 * from another directory, it works at once from the built dist/: no npx, no registry, no build.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { VERSION } from '../../src/version.js';
import { cliEnv, REPO_ROOT } from '../helpers/cli.js';

const run = promisify(execFile);

it('tendril on PATH (a link to bin/tendril.js, as npm link makes) runs from any directory, without building', async () => {
  assert.ok(existsSync(join(REPO_ROOT, 'dist', 'cli', 'entry.js')), 'dist/ is built (npm install builds it)');
  const dir = mkdtempSync(join(tmpdir(), 'tendril-path-'));
  try {
    const bin = join(dir, 'bin');
    const elsewhere = join(dir, 'somewhere');
    for (const d of [bin, elsewhere]) mkdirSync(d);
    symlinkSync(join(REPO_ROOT, 'bin', 'tendril.js'), join(bin, 'tendril'));
    const env = { ...cliEnv(), PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir };
    const version = await run('tendril', ['--version'], { cwd: elsewhere, env });
    assert.equal(version.stdout, `${VERSION}\n`);
    const status = await run('tendril', ['--instance', join(dir, 'inst'), 'status', '--json'], { cwd: elsewhere, env }).then(
      () => assert.fail('status of a stopped node exits 3'),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(status.code, 3, 'stopped');
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'stopped');
    assert.equal(existsSync(join(elsewhere, 'dist')), false, 'nothing built where it ran');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
