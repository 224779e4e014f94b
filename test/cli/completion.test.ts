/**
 * `tendril completion bash|zsh|fish`: each script, loaded into its real shell, completes commands,
 * subcommands, options and configuration keys.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliOk } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tendril-completion-'));
const scripts: Record<string, string> = {};
after(() => rmSync(dir, { recursive: true, force: true }));

const has = (shell: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`]);
    return true;
  } catch {
    return false;
  }
};
// CI installs zsh and fish (.ci/run); elsewhere a missing shell is skipped, never faked.
const missing = (shell: string): string | false => (has(shell) ? false : `${shell} is not installed`);

/** What bash (or zsh, through bashcompinit) offers for `words`, the last one being completed. */
function bashLike(shell: 'bash' | 'zsh', words: string[]): string[] {
  const file = join(dir, `tendril.${shell}`);
  const array = words.map((w) => `'${w}'`).join(' ');
  // zsh as a user has it: compinit loaded, and bash functions run with ksh arrays (bashcompinit's way).
  const prelude = shell === 'zsh' ? 'autoload -U compinit && compinit -u; setopt ksharrays; ' : '';
  const script = `${prelude}source ${file}; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _tendril; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync(shell, ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('shell completion', () => {
  before(async () => {
    const instance = mkdtempSync(join(dir, 'inst-'));
    for (const shell of ['bash', 'zsh', 'fish']) {
      scripts[shell] = await cliOk(instance, ['completion', shell]);
      writeFileSync(join(dir, `tendril.${shell}`), scripts[shell]);
    }
  });

  it('bash completes commands, subcommands, options and config keys', () => {
    assert.deepEqual(bashLike('bash', ['tendril', 'rh']), ['rhizome']);
    assert.deepEqual(bashLike('bash', ['tendril', 'web', '']).sort(), ['--help', '-h', 'generate-token', 'list-tokens', 'openapi', 'revoke-token', 'server'].sort());
    assert.ok(bashLike('bash', ['tendril', '--instance', '/x', 'rhizome', 'add', 'f', '--']).includes('--secret-file'));
    assert.deepEqual(bashLike('bash', ['tendril', 'config', 'set', 'rhizome.http.p']), ['rhizome.http.port']);
    assert.deepEqual(bashLike('bash', ['tendril', 'logs', '-']).filter((w) => w.startsWith('--')).sort(), ['--follow', '--help', '--json', '--lines']);
    // After an option that takes a value, bash falls back to file names.
    assert.deepEqual(bashLike('bash', ['tendril', 'keyring', 'list', '--pin-file', '']), []);
  });

  it('zsh completes through bashcompinit', { skip: missing('zsh') }, () => {
    execFileSync('zsh', ['-n', join(dir, 'tendril.zsh')]);
    assert.deepEqual(bashLike('zsh', ['tendril', 'mesh']).sort(), ['meshmb', 'meshms']);
    assert.ok(bashLike('zsh', ['tendril', 'keyring', 'add', '--']).includes('--ask-pin'));
  });

  it('fish completes with descriptions', { skip: missing('fish') }, () => {
    const complete = (line: string): string[] =>
      execFileSync('fish', ['-c', `source ${join(dir, 'tendril.fish')}; complete -C '${line}'`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const top = complete('tendril ');
    assert.ok(top.some((l) => /^rhizome\tadd, list, export and import Rhizome bundles$/.test(l)), top.join('\n'));
    assert.deepEqual(complete('tendril config ').map((l) => l.split('\t')[0]).sort(), ['del', 'get', 'list', 'set']);
    assert.ok(complete('tendril web generate-token --').some((l) => l.startsWith('--expires\t')));
  });
});
