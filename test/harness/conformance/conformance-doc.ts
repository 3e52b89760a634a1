/**
 * Writes docs/CONFORMANCE.md from a conformance run: the mapping notes, a table per capture and peer (fields
 * compared, agreeing and differing counts), and every accepted difference with its one-line reason.
 */

import type { Judged } from './expectations.js';
import type { Finding, PeerName } from './finding.js';
import { NORMALISATION_RULES } from './normalisation-rules.js';

export interface CaptureReport {
  readonly capture: string;
  readonly status: 'ok' | 'crash' | 'timeout';
  readonly sessions: number;
  readonly judged: readonly Judged[];
}

/** The field part of a check name (`5000#1.mailfrom` → `mailfrom`, `cmd.RCPT` → `cmd`). */
export function fieldOf(f: Finding): string {
  if (f.peer === 'tshark') {
    const field = f.check.slice(f.check.lastIndexOf('.') + 1);
    return field === 'codes' ? 'reply codes' : field;
  }
  if (f.peer === 'suricata')
    return f.check.endsWith('.smtp-flow') ? 'SMTP flow seen' : `${f.check.split('#')[0] ?? f.check} filters`;
  const dot = f.check.lastIndexOf('.');
  return dot < 0 ? f.check : f.check.slice(dot + 1);
}

const PEERS: readonly PeerName[] = ['zeek', 'suricata', 'arkime', 'tshark', 'ndpi', 'index'];

function ruleCount(reports: readonly CaptureReport[], rule: string): number {
  return reports.flatMap((r) => r.judged).filter((j) => (j.finding.rule ?? '').split(',').includes(rule))
    .length;
}

export function renderConformanceDoc(
  reports: readonly CaptureReport[],
  notCompared: ReadonlySet<string>,
  summaryLine: string,
  skippedCounts: readonly string[] = [],
): string {
  const lines: string[] = [];
  lines.push('# Conformance with Zeek, Suricata, Arkime and tshark', '');
  lines.push(
    'This file is written by `npm run conformance -- --write-doc` and committed; do not edit it by hand.',
    'The run analyses every capture of the peer capture folder (`../shared/captures/peer` beside the clone)',
    "and compares smtpscope's sessions with each peer's expected output stored next to the capture:",
    'Zeek `smtp.log` and `conn.log` baselines, suricata-verify `test.yaml` checks, Arkime `.test` sessions,',
    "nDPI flow lists, and tshark's SMTP command and reply-code fields (the stored dumps, and tshark itself when",
    'it is installed; CI installs it, and this file is rendered with it).',
    'Every difference must be explained by a normalisation rule below or listed in',
    '`test/conformance/expectations.json` with its reason, or the run fails; `.ci/conformance` fails when this',
    'file differs from what the run renders (`--check-doc`).',
    '',
    `Result: ${summaryLine}`,
    '',
    '## How the models are mapped',
    '',
    '- **Zeek** (`smtp.log`, one row per transaction): rows are matched to the session with the same client',
    "  address and port, and a connection's rows, in log order, to its transactions in order (Zeek's `trans_depth`",
    '  is the number of messages delivered so far plus one, so rows of one connection can share it); a session',
    '  without MAIL is compared with the single session-level row Zeek writes for it. `helo` ↔ the last HELO/EHLO argument;',
    '  `mailfrom` ↔ the MAIL FROM address (Zeek keeps the first address, no brackets, no parameters); `rcptto`',
    '  (a set) ↔ the set of RCPT TO addresses (parameters such as ORCPT are not part of the address on either',
    '  side); `last_reply` ↔ code and last line of the last reply to a command of that transaction (of the',
    '  session for a session-level row); `from`/`to` ↔ the header addresses with display names dropped;',
    '  `subject`, `msg_id` ↔ the message summary; `tls` ↔ STARTTLS or implicit TLS seen. Zeek `conn.log` rows',
    '  with service smtp each need a session. A baseline is tied to its capture by the row of the folder index',
    '  that names it; a baseline the index does not name is matched by the endpoints of its rows, and one that',
    '  fits no single capture fails the run.',
    '- **Suricata** (`test.yaml` `checks:`, filters that apply to Suricata 8.0.7 or later): smtpscope yields one',
    '  smtp event per transaction (tx_id 0, 1, ...) and one for a session with commands but no MAIL. An',
    '  `event_type: smtp` filter agrees when the number of smtpscope events matching all its compared keys',
    '  equals its `count`; a count filter with a key smtpscope has no equivalent for is skipped (listed below),',
    '  not counted on its other keys. Filters on other events (no event_type, alert, fileinfo) that expect events carry the',
    '  fields of their transaction: some smtpscope event must have their `smtp.*`/`email.*` keys. `has-key` and',
    '  `not-has-key` take array names without an index (`smtp.rcpt_to`: any recipient). Addresses are compared',
    '  with one pair of angle brackets removed, because Suricata logs the path as the client sent it.',
    '  `email.status: PARSE_DONE` ↔ the whole message was seen; `email.attachment[i]` ↔ file names of MIME parts.',
    '  Any sign that Suricata saw SMTP (smtp events or fields, `app_proto: smtp`, `stats: app_layer.tx.smtp`)',
    '  needs a smtpscope session. A test whose pcap is not in the folder fails the run.',
    '- **Arkime** (`.test`, sessions tagged smtp): matched by client and server endpoint. `email.src` ↔ the',
    '  MAIL FROM addresses and the From: header address, `email.dst` ↔ the RCPT TO addresses and the To: and Cc:',
    '  header addresses (lower-cased; Arkime fills both fields from the commands and those headers),',
    '  `email.subject` ↔ decoded subjects,',
    '  `smtpHello` ↔ HELO/EHLO argument, `user` ↔ AUTH user names, tags `smtp:statuscode:NNN` ↔ codes of the',
    '  final replies to message bodies, `smtp:starttls` ↔ STARTTLS accepted, `smtp:authMECH` ↔ AUTH mechanisms.',
    '- **nDPI** (`.out`): every flow classified SMTP or SMTPS needs a smtpscope session with the same two',
    '  endpoints, and the number of flows is compared.',
    '- **tshark** (`-Y smtp` fields `smtp.req.command`, `smtp.response.code`, in frame order): per TCP stream',
    '  (tshark run with `tcp.stream` and the ports, and with `-o tcp.analyze_sequence_numbers:FALSE` so that it',
    '  dissects the segments it would call spurious retransmissions; the stored dumps, without streams, are one',
    '  sequence per capture),',
    '  the ordered sequence of client commands and the ordered sequence of reply codes are aligned with',
    "  smtpscope's, and every token on one side only must be explained by a rule below. smtpscope's commands:",
    '  every client command but the end of a message; its codes: greeting, command replies, end-of-message',
    "  replies and replies no command awaited, in the server's order. tshark's `STAR` is read as STARTTLS. The",
    '  number of streams is compared (a stream whose rows carry ports but no command or code still counts: tshark',
    '  saw it), and a stream smtpscope has no session for is a lost session. When tshark is installed the run',
    '  also checks that it still gives the stored rows, run as they were made (sequence analysis on).',
    '- Every capture must be compared with some peer output; a capture with none is a difference to record.',
    '- A lost session (a peer saw an SMTP flow smtpscope did not report) can never be recorded as accepted.',
    '',
    '## Normalisation rules',
    '',
    'Known peer behaviours judged by rule, on every capture, instead of by per-capture entries; each has a unit',
    'test. `applied` counts the comparisons of this run that agree only through the rule.',
    '',
    '| rule | applied | reason |',
    '|---|---|---|',
    ...Object.entries(NORMALISATION_RULES).map(
      ([rule, reason]) => `| \`${rule}\` | ${ruleCount(reports, rule)} | ${reason.replace(/\|/g, '\\|')} |`,
    ),
    '',
  );
  if (notCompared.size > 0) {
    lines.push(
      'Suricata filter keys that smtpscope has no equivalent for, and which are therefore not compared:',
      `${[...new Set([...notCompared].map((k) => k.replace(/\[\d+\]/g, '[i]')))]
        .sort()
        .map((k) => `\`${k}\``)
        .join(', ')}.`,
      '',
    );
  }
  if (skippedCounts.length > 0) {
    lines.push(
      'Suricata `event_type: smtp` count checks skipped because some of their keys are not compared (a count',
      'over the other keys would judge another set of events):',
      '',
      ...[...skippedCounts].sort().map((s) => `- ${s}`),
      '',
    );
  }
  lines.push(
    '## Results',
    '',
    '`agree` includes `by rule`, the comparisons that agree through a normalisation rule.',
    '',
    '| capture | peer | fields compared | agree | by rule | differ |',
    '|---|---|---|---|---|---|',
  );
  const reasons: string[] = [];
  for (const r of reports) {
    if (r.status !== 'ok') {
      lines.push(`| ${r.capture} | - | smtpscope ${r.status} | 0 | - | - |`);
      continue;
    }
    let any = false;
    for (const peer of PEERS) {
      const items = r.judged.filter((j) => j.finding.peer === peer);
      if (items.length === 0) continue;
      any = true;
      const fields = [...new Set(items.map((j) => fieldOf(j.finding)))].join(', ');
      const differ = items.filter((j) => !j.finding.agree);
      const ruled = items.filter((j) => j.finding.rule !== undefined).length;
      lines.push(
        `| ${r.capture} | ${peer} | ${fields} | ${items.length - differ.length} | ${ruled} | ${differ.length} |`,
      );
      for (const d of differ) {
        const why = d.accepted?.reason ?? 'NOT RECORDED';
        reasons.push(
          `- ${r.capture}, ${peer}, \`${d.finding.check}\`: smtpscope \`${d.finding.ours}\`, ${peer} \`${d.finding.theirs}\`. ${why}`,
        );
      }
    }
    if (!any)
      lines.push(`| ${r.capture} | - | no peer output to compare (${r.sessions} sessions) | - | - | - |`);
  }
  lines.push('', '## Differences and their reasons', '');
  lines.push(...(reasons.length === 0 ? ['None.'] : reasons), '');
  return lines.join('\n');
}
