/**
 * Shell completion scripts (`smtpscope completion bash|zsh`), made from the option table of options.ts so they
 * list exactly the options each command takes. Values: file names for FILE options, folder names for DIR
 * options, interface names for -i, nothing for the others.
 */

import { COMMAND_SPECS, COMMANDS, type CommandName, OPTIONS, type OptionSpec } from './options.js';

const listed = (command: CommandName): OptionSpec[] =>
  OPTIONS.filter((o) => o.hidden !== true && o.commands.includes(command));

function words(options: readonly OptionSpec[]): string {
  return options
    .flatMap((o) => (o.short === undefined ? [`--${o.name}`] : [`--${o.name}`, `-${o.short}`]))
    .join(' ');
}

function bashScript(): string {
  const values = OPTIONS.filter((o) => o.type === 'string');
  const names = (pick: (o: OptionSpec) => boolean) =>
    values
      .filter(pick)
      .flatMap((o) => (o.short === undefined ? [`--${o.name}`] : [`--${o.name}`, `-${o.short}`]))
      .join('|');
  const perCommand = COMMANDS.filter((c) => c !== 'help')
    .map((c) => `    ${c}) opts="${words(listed(c))}" ;;`)
    .join('\n');
  return `# bash completion for smtpscope (made by: smtpscope completion bash)
_smtpscope() {
  local cur prev cmd word i opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${names((o) => o.complete === 'file')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    ${names((o) => o.complete === 'dir')}) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    -i|--interface) COMPREPLY=( $(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur") ); return ;;
    ${names((o) => o.complete === undefined && o.name !== 'interface')}) COMPREPLY=(); return ;;
  esac
  cmd=analyze
  for (( i=1; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      ${COMMANDS.join('|')}) cmd="$word"; break ;;
    esac
  done
  case "$cmd" in
${perCommand}
    help) COMPREPLY=( $(compgen -W "${COMMANDS.join(' ')}" -- "$cur") ); return ;;
  esac
  if [[ "$cmd" == completion ]]; then COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ); return; fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [[ "$cmd" == analyze && $i -ge $COMP_CWORD ]]; then
    COMPREPLY=( $(compgen -W "${COMMANDS.join(' ')}" -- "$cur") $(compgen -f -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -o bashdefault -F _smtpscope smtpscope
`;
}

/** Text inside a zsh _arguments description: brackets, colons and quotes escaped. */
function zshText(text: string): string {
  return text.replace(/([[\]:\\])/g, '\\$1').replace(/'/g, "'\\''");
}

function zshSpec(o: OptionSpec): string[] {
  const value =
    o.type === 'boolean'
      ? ''
      : `:${zshText(o.arg ?? 'VALUE')}:${o.complete === 'file' ? '_files' : o.complete === 'dir' ? '_files -/' : o.name === 'interface' ? '_net_interfaces' : ' '}`;
  const help = zshText(o.help.split(/[;(]/)[0]?.trim() ?? '');
  const repeat = o.multiple === true ? '*' : '';
  const names = o.short === undefined ? [`--${o.name}`] : [`--${o.name}`, `-${o.short}`];
  return names.map((n) => `'${repeat}${n}[${help}]${value}'`);
}

function zshScript(): string {
  const commands = COMMAND_SPECS.map((c) => `'${c.name}:${zshText(c.summary)}'`).join(' ');
  const perCommand = COMMANDS.filter((c) => c !== 'help' && c !== 'completion')
    .map(
      (c) =>
        `    ${c})\n      _arguments -s ${listed(c).flatMap(zshSpec).join(' ')} '*:capture file:_files' ;;`,
    )
    .join('\n');
  return `#compdef smtpscope
# zsh completion for smtpscope (made by: smtpscope completion zsh)
_smtpscope() {
  local -a commands
  commands=(${commands} 'help:the help of a command')
  local cmd=analyze
  local w
  for w in \${words[2,CURRENT-1]}; do
    case $w in
      (${COMMANDS.join('|')}) cmd=$w; break ;;
    esac
  done
  if (( CURRENT == 2 )) && [[ \${words[CURRENT]} != -* ]]; then
    _describe -t commands 'smtpscope command' commands
    _files
    return
  fi
  case $cmd in
${perCommand}
    completion) _values 'shell' bash zsh ;;
    help) _describe -t commands 'smtpscope command' commands ;;
  esac
}
_smtpscope "$@"
`;
}

export function completionScript(shell: 'bash' | 'zsh'): string {
  return shell === 'bash' ? bashScript() : zshScript();
}
