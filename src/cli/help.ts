/**
 * The help texts, made from the option and command tables of options.ts: `smtpscope --help` (every command
 * and option), `smtpscope COMMAND --help` (that command's options and examples).
 */

import {
  COMMAND_SPECS,
  type CommandName,
  GROUP_TITLES,
  OPTIONS,
  type OptionGroup,
  type OptionSpec,
} from './options.js';

/** Column where option descriptions start. */
const DESCRIPTION_COLUMN = 27;
/** Width the help is wrapped to (the usual terminal). */
const HELP_WIDTH = 100;

/** "-r, --read FILE" */
export function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.arg === undefined ? '' : ` ${o.arg}`}`;
  return o.short === undefined ? long : `-${o.short}, ${long}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const out: string[] = [];
  for (const o of options) {
    const label = `  ${optionLabel(o)}`;
    const text = wrap(o.help, HELP_WIDTH - DESCRIPTION_COLUMN);
    const pad = ' '.repeat(DESCRIPTION_COLUMN);
    if (label.length < DESCRIPTION_COLUMN - 1) out.push(label.padEnd(DESCRIPTION_COLUMN) + (text[0] ?? ''));
    else out.push(label, pad + (text[0] ?? ''));
    for (const more of text.slice(1)) out.push(pad + more);
  }
  return out;
}

function grouped(options: readonly OptionSpec[]): string[] {
  const out: string[] = [];
  for (const group of Object.keys(GROUP_TITLES) as OptionGroup[]) {
    const members = options.filter((o) => o.group === group);
    if (members.length === 0) continue;
    out.push('', `${GROUP_TITLES[group]}:`, ...optionLines(members));
  }
  return out;
}

const visible = (command: CommandName): OptionSpec[] =>
  OPTIONS.filter((o) => o.hidden !== true && o.commands.includes(command));

export const EXIT_CODES_TEXT =
  'Exit codes: 0 success (also when the reader of standard output leaves early, as with | head), 1 input or runtime error, damaged or cut capture included (what was decoded before it is still written; a skipped input file), 2 usage error, 3 live capture unavailable.';

/** `smtpscope --help`. */
export function generalHelp(): string {
  const out = ['smtpscope — SMTP traffic analyzer', '', 'Usage:'];
  const synopsisWidth = 42;
  for (const c of COMMAND_SPECS) {
    const synopsis = `  ${c.synopsis}`;
    if (synopsis.length < synopsisWidth) out.push(synopsis.padEnd(synopsisWidth) + c.summary);
    else out.push(synopsis, ' '.repeat(synopsisWidth) + c.summary);
  }
  out.push(
    '  smtpscope -i IFACE [options]'.padEnd(synopsisWidth) +
      'analyze live traffic (needs libpcap; docs/LIVE.md)',
  );
  out.push('', 'Each command has its own help: smtpscope COMMAND --help (or smtpscope help COMMAND).');
  out.push(...grouped(visible('analyze')));
  const others = OPTIONS.filter((o) => o.hidden !== true && !o.commands.includes('analyze'));
  if (others.length > 0) out.push('', 'Other commands:', ...optionLines(others));
  out.push('', ...wrap(EXIT_CODES_TEXT, HELP_WIDTH));
  return `${out.join('\n')}\n`;
}

/** `smtpscope COMMAND --help`: the synopsis, what it does, its options and examples. */
export function commandHelp(name: CommandName): string {
  if (name === 'analyze' || name === 'help') return generalHelp();
  const spec = COMMAND_SPECS.find((c) => c.name === name);
  if (spec === undefined) return generalHelp();
  const out = [`Usage: ${spec.synopsis}`, '', ...wrap(spec.description, HELP_WIDTH)];
  out.push(...grouped(visible(name)));
  out.push('', spec.examples.length === 1 ? 'Example:' : 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${out.join('\n')}\n`;
}
