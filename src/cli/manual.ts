/**
 * The manual page (docs/smtpscope.1, installed through package.json `man`), made from the same command and
 * option tables as `--help`. A test checks that the file equals what this renders; after changing an option,
 * write it again with `node dist/cli/manual.js > docs/smtpscope.1`.
 */

import { EXIT_CODES_TEXT, optionLabel } from './help.js';
import { COMMAND_SPECS, GROUP_TITLES, OPTIONS, type OptionGroup, VERSION } from './options.js';

/** Text safe in a roff line: backslashes and hyphens escaped, no control character at the start. */
function roff(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

export function manPage(): string {
  const out: string[] = [
    '.\\" Generated from src/cli/options.ts by src/cli/manual.ts; do not edit.',
    `.TH SMTPSCOPE 1 "" "smtpscope ${VERSION}" "User Commands"`,
    '.SH NAME',
    'smtpscope \\- SMTP traffic analyzer: captures to sessions, envelopes, recipients and reply codes',
    '.SH SYNOPSIS',
  ];
  for (const c of COMMAND_SPECS) out.push('.nf', roff(c.synopsis), '.fi', '.br');
  out.push('.nf', roff('smtpscope -i IFACE [options]'), '.fi');
  out.push(
    '.SH DESCRIPTION',
    roff(
      "smtpscope reads pcap, pcapng and gzip captures (or live traffic), reassembles the TCP connections on the SMTP ports and follows every SMTP dialogue: the envelope, each recipient's outcome, the reply codes and their reasons. On a terminal it opens a dashboard; otherwise it prints a text summary, and writes NDJSON, CSV, ClickHouse rows or the messages themselves when asked.",
    ),
    '.SH COMMANDS',
  );
  for (const c of COMMAND_SPECS) {
    out.push('.TP', `.B ${roff(c.name)}`, roff(c.description));
    for (const e of c.examples) out.push('.RS', '.nf', roff(e), '.fi', '.RE');
  }
  for (const group of Object.keys(GROUP_TITLES) as OptionGroup[]) {
    const members = OPTIONS.filter((o) => o.group === group && o.hidden !== true);
    if (members.length === 0) continue;
    out.push(`.SH ${roff(GROUP_TITLES[group].toUpperCase())}`);
    for (const o of members) {
      const commands =
        o.commands.length >= 6 ? '' : ` (${o.commands.filter((c) => c !== 'help').join(', ')})`;
      out.push('.TP', `.B ${roff(optionLabel(o))}`, roff(`${o.help}${commands}`));
    }
  }
  out.push(
    '.SH EXIT STATUS',
    roff(EXIT_CODES_TEXT),
    '.SH FILES',
    roff('Shell completion: smtpscope completion bash, smtpscope completion zsh.'),
    '.SH SEE ALSO',
    '.BR tcpdump (1),',
    '.BR tshark (1).',
    roff(
      'The documents in the docs/ folder of the source: CSV.md, DASHBOARD.md, LIVE.md, LIMITS.md, FLEET.md.',
    ),
  );
  return `${out.join('\n')}\n`;
}

// `node dist/cli/manual.js` prints the page.
if (process.argv[1]?.endsWith('/cli/manual.js') === true) process.stdout.write(manPage());
