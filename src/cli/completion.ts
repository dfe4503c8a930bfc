/**
 * `quarters completion bash|zsh`: completion scripts made from the program's own command tree, so a new
 * command or option completes without anyone editing a script. Static tables, no node process per <Tab>.
 */
import type { Command } from '@commander-js/extra-typings';
import { allCommands, commandPath } from './program.js';

interface Entry {
  path: string;
  subcommands: string[];
  options: string[];
  /** Options that take a value: the word after one is completed as a file name. */
  valued: string[];
}

function entries(program: Command): Entry[] {
  return allCommands(program).map((command) => {
    const options = command.options.filter((o) => !o.hidden);
    return {
      path: commandPath(command),
      // An argument's choices (completion bash|zsh) complete as subcommands do.
      subcommands: [...(command.commands as Command[]).flatMap((c) => [c.name(), ...c.aliases()]), ...(command.registeredArguments[0]?.argChoices ?? [])],
      options: [...options.map((o) => o.long ?? o.short!), '--help'],
      valued: options.filter((o) => o.required || o.optional).map((o) => o.long ?? o.short!),
    };
  });
}

/** A bash `case` over command paths; aliases resolve to the command they name. */
function cases(program: Command, value: (e: Entry) => string[]): string {
  const aliases = allCommands(program).flatMap((c) => c.aliases().map((alias) => ({ alias: commandPath(c).replace(/[^ ]+$/, alias), path: commandPath(c) })));
  return entries(program)
    .map((e) => {
      const labels = [e.path, ...aliases.filter((a) => a.path === e.path).map((a) => a.alias)].map((p) => `"${p}"`).join('|');
      return `    ${labels}) echo "${value(e).join(' ')}" ;;`;
    })
    .join('\n');
}

function bash(program: Command): string {
  return `# quarters completion for bash: eval "$(quarters completion bash)"
_quarters_subcommands() {
  case "$1" in
${cases(program, (e) => e.subcommands)}
  esac
}
_quarters_options() {
  case "$1" in
${cases(program, (e) => e.options)}
  esac
}
_quarters_valued() {
  case "$1" in
${cases(program, (e) => e.valued)}
  esac
}
_quarters() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" word i skip=0
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command path: the words before the cursor that name subcommands, past the values of options.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    if (( skip )); then skip=0; continue; fi
    if [[ "$word" == --*=* ]]; then continue; fi
    if [[ "$word" == -* ]]; then
      [[ " $(_quarters_valued "$path") " == *" $word "* ]] && skip=1
      continue
    fi
    if [[ " $(_quarters_subcommands "$path") " == *" $word "* ]]; then
      path="\${path:+$path }$word"
    fi
  done
  if [[ "$prev" == -* && "$cur" != -* && " $(_quarters_valued "$path") " == *" $prev "* ]]; then
    COMPREPLY=( $(compgen -f -- "$cur") )
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_quarters_options "$path")" -- "$cur") )
    return 0
  fi
  local subcommands
  subcommands="$(_quarters_subcommands "$path")"
  if [[ -n "$subcommands" ]]; then
    COMPREPLY=( $(compgen -W "$subcommands" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
  return 0
}
complete -o filenames -F _quarters quarters
`;
}

function zsh(program: Command): string {
  // zsh runs the bash function through bashcompinit: one set of tables for both shells.
  return `#compdef quarters
# quarters completion for zsh: eval "$(quarters completion zsh)" in ~/.zshrc (after compinit)
autoload -U +X bashcompinit && bashcompinit
${bash(program).split('\n').slice(1).join('\n')}`;
}

/** The completion script for the shell. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  return shell === 'bash' ? bash(program) : zsh(program);
}
