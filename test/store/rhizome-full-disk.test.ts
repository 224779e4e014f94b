/**
 * A full disk: the store on a 2 MiB tmpfs is filled until writes fail. Payload writes and commits
 * fail with ENOSPC (the service answers "No room in store", spec §3.8.3), everything acknowledged
 * earlier stays readable, integrity_check passes and the store reopens. Mounting needs root (or
 * CAP_SYS_ADMIN); elsewhere the test is skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { all, insert, openTestStore, readAll, sha512, tempDir } from './rhizome-helpers.js';

function mountTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('Rhizome store: full disk', () => {
  it('fails new writes with ENOSPC and damages nothing stored earlier', async (t) => {
    const { dir, cleanup } = tempDir();
    const mount = join(dir, 'small');
    mkdirSync(mount);
    if (!mountTmpfs(mount)) {
      cleanup();
      t.skip('cannot mount a tmpfs here (needs root)');
      return;
    }
    try {
      const store = await openTestStore(mount, { maxBlobSize: 4096 });
      const stored: Buffer[] = [];
      const failures: string[] = [];
      for (let i = 0; i < 200 && failures.length < 6; i++) {
        const payload = randomBytes(i % 2 === 0 ? 50_000 : 3000); // files and inline rows
        try {
          await insert(store, { payload });
          stored.push(payload);
        } catch (err) {
          failures.push((err as NodeJS.ErrnoException).code ?? String(err));
        }
      }
      assert.ok(stored.length > 5);
      assert.deepEqual(new Set(failures), new Set(['ENOSPC']));
      for (const payload of stored) assert.ok((await readAll((await store.readPayload(sha512(payload)))!)).equals(payload));
      await store.close();
      const db = new Database(join(mount, 'rhizome', 'rhizome.db'), { readonly: true });
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      db.close();
      const reopened = await openTestStore(mount, { maxBlobSize: 4096 });
      assert.equal((await all(reopened.list({}, { order: 'asc' }))).length, stored.length);
      await reopened.close();
    } finally {
      execFileSync('umount', [mount]);
      cleanup();
    }
  });
});
