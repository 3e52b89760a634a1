/**
 * Writes docs/CONFORMANCE.md from a conformance run: the mapping notes, a table per capture and peer (fields
 * compared, agreeing and differing counts), and every accepted difference with its one-line reason.
 */

import type { Judged } from './expectations.js';
import type { Finding, PeerName } from './finding.js';

export interface CaptureReport {
  readonly capture: string;
  readonly status: 'ok' | 'crash' | 'timeout';
  readonly sessions: number;
  readonly judged: readonly Judged[];
}

/** The field part of a check name (`5000#1.mailfrom` → `mailfrom`, `cmd.RCPT` → `cmd`). */
export function fieldOf(f: Finding): string {
  if (f.peer === 'tshark') return f.check.startsWith('cmd.') ? 'commands' : 'reply codes';
  if (f.peer === 'suricata') return `${f.check.split('#')[0] ?? f.check} filters`;
  const dot = f.check.lastIndexOf('.');
  return dot < 0 ? f.check : f.check.slice(dot + 1);
}

const PEERS: readonly PeerName[] = ['zeek', 'suricata', 'arkime', 'tshark', 'ndpi', 'index'];

export function renderConformanceDoc(
  reports: readonly CaptureReport[],
  notCompared: ReadonlySet<string>,
  summaryLine: string,
): string {
  const lines: string[] = [];
  lines.push('# Conformance with Zeek, Suricata, Arkime and tshark', '');
  lines.push(
    'This file is written by `npm run conformance -- --write-doc` and committed; do not edit it by hand.',
    'The run analyses every capture of the peer capture folder (`../shared/captures/peer` beside the clone)',
    "and compares smtpscope's sessions with each peer's expected output stored next to the capture:",
    "Zeek `smtp.log` baselines, suricata-verify `test.yaml` checks, Arkime `.test` sessions, and tshark's",
    'SMTP command and reply-code fields (the stored dumps, and tshark itself when it is installed).',
    'Every difference must be listed in `test/conformance/expectations.json` with its reason, or the run fails.',
    '',
    `Result: ${summaryLine}`,
    '',
    '## How the models are mapped',
    '',
    '- **Zeek** (`smtp.log`, one row per transaction, `trans_depth` 1-based): rows are matched to the session',
    '  with the same client address and port and the transaction with the same depth; a session without MAIL is',
    '  compared with the single session-level row Zeek writes for it. `helo` ↔ the last HELO/EHLO argument;',
    '  `mailfrom` ↔ the MAIL FROM address (Zeek keeps the first address, no brackets, no parameters); `rcptto`',
    '  (a set) ↔ the set of RCPT TO addresses (parameters such as ORCPT are not part of the address on either',
    '  side); `last_reply` ↔ code and last line of the last reply to a command of that transaction (of the',
    '  session for a session-level row); `from`/`to` ↔ the header addresses with display names dropped;',
    '  `subject`, `msg_id` ↔ the message summary; `tls` ↔ STARTTLS or implicit TLS seen.',
    '- **Suricata** (`test.yaml` `checks:`): only filters with `event_type: smtp` that apply to Suricata 8.0.7 or',
    '  later are evaluated. smtpscope yields one smtp event per transaction (tx_id 0, 1, ...) and one for a',
    '  session with commands but no MAIL. A filter agrees when the number of smtpscope events matching all its',
    '  compared keys equals its `count`. Addresses are compared with one pair of angle brackets removed,',
    '  because Suricata logs the path as the client sent it. `email.status: PARSE_DONE` ↔ the whole message was',
    '  seen; `email.attachment[i]` ↔ file names of MIME parts.',
    '- **Arkime** (`.test`, sessions tagged smtp): matched by client and server endpoint. `email.src`/`dst` ↔',
    '  the sets of MAIL FROM / RCPT TO addresses (lower-cased), `email.subject` ↔ decoded subjects,',
    '  `smtpHello` ↔ HELO/EHLO argument, `user` ↔ AUTH user names, tags `smtp:statuscode:NNN` ↔ codes of the',
    '  final replies to message bodies, `smtp:starttls` ↔ STARTTLS accepted, `smtp:authMECH` ↔ AUTH mechanisms.',
    '- **tshark** (`-Y smtp` fields `smtp.req.command`, `smtp.response.code`): counts per command verb and per',
    '  reply code for the whole capture. smtpscope counts every client command (AUTH continuation lines and',
    "  the end of a message excluded) and every reply (greeting, command replies, end-of-message replies). tshark's",
    '  `STAR` is read as STARTTLS. When tshark is installed the run also checks that it still gives the stored',
    '  counts.',
    '',
  );
  if (notCompared.size > 0) {
    lines.push(
      'Suricata filter keys that smtpscope has no equivalent for, and which are therefore not compared:',
      [...notCompared]
        .sort()
        .map((k) => `\`${k}\``)
        .join(', ') + '.',
      '',
    );
  }
  lines.push(
    '## Results',
    '',
    '| capture | peer | fields compared | agree | differ |',
    '|---|---|---|---|---|',
  );
  const reasons: string[] = [];
  for (const r of reports) {
    if (r.status !== 'ok') {
      lines.push(`| ${r.capture} | - | smtpscope ${r.status} | 0 | - |`);
      continue;
    }
    let any = false;
    for (const peer of PEERS) {
      const items = r.judged.filter((j) => j.finding.peer === peer);
      if (items.length === 0) continue;
      any = true;
      const fields = [...new Set(items.map((j) => fieldOf(j.finding)))].join(', ');
      const differ = items.filter((j) => !j.finding.agree);
      lines.push(
        `| ${r.capture} | ${peer} | ${fields} | ${items.length - differ.length} | ${differ.length} |`,
      );
      for (const d of differ) {
        const why = d.accepted?.reason ?? 'NOT RECORDED';
        reasons.push(
          `- ${r.capture}, ${peer}, \`${d.finding.check}\`: smtpscope \`${d.finding.ours}\`, ${peer} \`${d.finding.theirs}\`. ${why}`,
        );
      }
    }
    if (!any) lines.push(`| ${r.capture} | - | no peer output to compare (${r.sessions} sessions) | - | - |`);
  }
  lines.push('', '## Differences and their reasons', '');
  lines.push(...(reasons.length === 0 ? ['None.'] : reasons), '');
  return lines.join('\n');
}
