/**
 * smtpscope against tshark's SMTP dissector, at the level of counts: how many times each command verb and each
 * reply code occurs in the capture. smtpscope's counts: every client command (AUTH continuation lines and
 * end-of-data excluded; unknown verbs by their text, upper-cased) and every reply (greeting, replies to
 * commands, replies to message bodies). tshark writes STARTTLS as `STAR` (its command field is four letters);
 * that is mapped to STARTTLS before comparing. Every other difference is a finding.
 */

import type { SmtpSession } from '../model/types.js';
import { type Finding, finding } from './finding.js';
import { repliesOf } from './session-views.js';
import type { TsharkCounts } from './tshark-fields.js';

export function ourCounts(sessions: readonly SmtpSession[]): TsharkCounts {
  const commands = new Map<string, number>();
  const codes = new Map<string, number>();
  for (const s of sessions) {
    for (const c of s.commands) {
      if (c.verb === 'AUTH-RESPONSE' || c.verb === 'END-OF-DATA') continue;
      const name = c.verb === 'UNKNOWN' ? c.verbText.toUpperCase() : c.verb;
      commands.set(name, (commands.get(name) ?? 0) + 1);
    }
    for (const r of repliesOf(s)) codes.set(String(r.code), (codes.get(String(r.code)) ?? 0) + 1);
    // Replies no command was waiting for are kept as `unmatched-reply` anomalies ("reply NNN ...").
    for (const a of s.anomalies) {
      const code = a.code === 'unmatched-reply' ? /^reply (\d{3})\b/.exec(a.detail)?.[1] : undefined;
      if (code !== undefined) codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  }
  return { commands, codes };
}

export function compareTshark(
  capture: string,
  theirs: TsharkCounts,
  sessions: readonly SmtpSession[],
): Finding[] {
  const ours = ourCounts(sessions);
  const theirCommands = new Map<string, number>();
  for (const [k, v] of theirs.commands) {
    const name = k === 'STAR' ? 'STARTTLS' : k;
    theirCommands.set(name, (theirCommands.get(name) ?? 0) + v);
  }
  const out: Finding[] = [];
  for (const name of [...new Set([...ours.commands.keys(), ...theirCommands.keys()])].sort()) {
    out.push(
      finding(
        capture,
        'tshark',
        `cmd.${name}`,
        String(ours.commands.get(name) ?? 0),
        String(theirCommands.get(name) ?? 0),
      ),
    );
  }
  for (const code of [...new Set([...ours.codes.keys(), ...theirs.codes.keys()])].sort()) {
    out.push(
      finding(
        capture,
        'tshark',
        `code.${code}`,
        String(ours.codes.get(code) ?? 0),
        String(theirs.codes.get(code) ?? 0),
      ),
    );
  }
  return out;
}
