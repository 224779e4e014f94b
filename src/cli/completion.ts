/**
 * `tendril completion bash|zsh|fish`: shell completion scripts, generated from the command tree
 * itself (so a new command or option completes without anyone remembering to add it) and from the
 * configuration schema for `config set|get|del` keys. zsh runs the bash function through its
 * bashcompinit layer; fish gets its own `complete` lines, with descriptions.
 *
 *   bash:  tendril completion bash > ~/.local/share/bash-completion/completions/tendril
 *   zsh:   tendril completion zsh > "${fpath[1]}/_tendril"   (or: source <(tendril completion zsh))
 *   fish:  tendril completion fish > ~/.config/fish/completions/tendril.fish
 */
import { Argument, type Command } from 'commander';
import { KEYS } from '../config/schema.js';
import { fail } from '../errors.js';
import type { Io } from './io.js';

interface Node {
  /** Space-separated path of subcommand names, '' for the program. */
  readonly path: string;
  readonly description: string;
  readonly subcommands: readonly string[];
  readonly options: ReadonlyArray<{ flags: string[]; takesValue: boolean; description: string }>;
}

function walk(command: Command, path: string, out: Node[]): Node[] {
  const options = command.options.map((o) => ({
    flags: [o.long, o.short].filter((f): f is string => f !== undefined),
    takesValue: o.required || o.optional,
    description: o.description,
  }));
  options.push({ flags: ['--help', '-h'], takesValue: false, description: 'show help' });
  out.push({ path, description: command.description(), subcommands: command.commands.map((c) => c.name()), options });
  for (const sub of command.commands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, out);
  return out;
}

/** Configuration keys, with NAME for a user-chosen segment. */
const CONFIG_KEYS = KEYS.map((k) => k.key.replace('*', 'NAME'));
const KEY_PATHS = ['config set', 'config get', 'config del'];

const bashWords = (node: Node): string =>
  [...node.subcommands, ...node.options.flatMap((o) => o.flags), ...(KEY_PATHS.includes(node.path) ? CONFIG_KEYS : [])].join(' ');

function bash(nodes: readonly Node[]): string {
  const valued = [...new Set(nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags)))];
  const paths = nodes.filter((n) => n.path !== '').map((n) => `" ${n.path}"`);
  return `# bash completion for tendril (tendril completion bash)
_tendril() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" i w words
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${valued.join('|')}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "$path $w" in
      ${paths.join('|')}) path="$path $w" ;;
    esac
  done
  case "$prev" in
    ${valued.join('|')}) COMPREPLY=(); return ;;
  esac
  case "$path" in
${nodes.map((n) => `    "${n.path === '' ? '' : ` ${n.path}`}") words=(${bashWords(n)}) ;;`).join('\n')}
  esac
  # Filtered here rather than by compgen -W, whose zsh emulation ignores the prefix.
  COMPREPLY=()
  for w in "\${words[@]}"; do
    [[ "$w" == "$cur"* ]] && COMPREPLY+=("$w")
  done
}
complete -o default -F _tendril tendril
`;
}

function zsh(nodes: readonly Node[]): string {
  return `#compdef tendril
# zsh completion for tendril (tendril completion zsh): the bash function, through bashcompinit
autoload -U +X bashcompinit && bashcompinit
${bash(nodes)}`;
}

const fishQuote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fish(nodes: readonly Node[]): string {
  const lines = ['# fish completion for tendril (tendril completion fish)', 'complete -c tendril -f'];
  const top = nodes.find((n) => n.path === '')!.subcommands;
  for (const node of nodes) {
    const names = node.path === '' ? [] : node.path.split(' ');
    // At this command: its path's words seen, none of its subcommands yet.
    let at = names.length === 0 ? `not __fish_seen_subcommand_from ${top.join(' ')}` : names.map((n) => `__fish_seen_subcommand_from ${n}`).join('; and ');
    if (names.length > 0 && node.subcommands.length > 0) at += `; and not __fish_seen_subcommand_from ${node.subcommands.join(' ')}`;
    for (const sub of node.subcommands) {
      const child = nodes.find((n) => n.path === (node.path === '' ? sub : `${node.path} ${sub}`));
      lines.push(`complete -c tendril -n ${fishQuote(at)} -a ${sub} -d ${fishQuote(child?.description ?? '')}`);
    }
    for (const o of node.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
      if (long === undefined) continue;
      lines.push(`complete -c tendril -n ${fishQuote(at)} -l ${long}${short ? ` -s ${short}` : ''}${o.takesValue ? ' -r -F' : ''} -d ${fishQuote(o.description)}`);
    }
    if (KEY_PATHS.includes(node.path)) lines.push(`complete -c tendril -n ${fishQuote(at)} -a ${fishQuote(CONFIG_KEYS.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}

const SHELLS = { bash, zsh, fish } as const;

export function registerCompletionCommand(program: Command, io: Io): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SHELLS)))
    .action((shell: keyof typeof SHELLS) => {
      const make = SHELLS[shell] as ((nodes: readonly Node[]) => string) | undefined;
      if (!make) fail('USAGE', { arg: `unknown shell ${shell}` });
      io.raw(make(walk(program, '', [])));
    });
}
