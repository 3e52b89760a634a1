/**
 * smtpscope against tshark's SMTP dissector: per TCP stream, the ordered sequence of client commands and the
 * ordered sequence of reply codes. tshark's rows are in frame order; with tshark installed the run groups them by
 * `tcp.stream` and matches each stream to the smtpscope sessions on the same two ports; from a stored dump alone
 * (no stream column) the whole capture is one sequence, compared with smtpscope's sessions in start order.
 *
 * smtpscope's sequences: every client command (the end of a message excluded; unknown verbs by their text,
 * upper-cased), and every reply code (greeting, replies to commands and to message bodies, replies no command
 * was waiting for), in packet-time order. tshark writes STARTTLS as `STAR` (its command field is four letters).
 *
 * The two sequences are aligned (longest common subsequence); every token on one side only must be explained by
 * one of the rules below, each a documented tshark behaviour (docs/CONFORMANCE.md), or the stream differs:
 * - `tshark-auth-line`: tshark labels an AUTH continuation line (base64) as a command; smtpscope's AUTH response
 *   at that place matches any token that is not an SMTP verb (an AUTH response tshark shows empty is not compared).
 * - `tshark-one-segment`: tshark lacks a command that arrived in one client segment with other commands or with
 *   the end of a message (same packet time: pipelined MAIL/RCPT/DATA, `.\r\nQUIT`), which it takes as data.
 * - `tshark-pre-greeting`: tshark lacks a command sent before the server greeting.
 * - `tshark-after-bdat`: tshark lacks a command at or after a BDAT command: it takes the bytes after a BDAT line
 *   as chunk data to the end of the segment, and does not dissect a BDAT line whose size it cannot read.
 * - `tshark-rejected-data`: tshark lacks a command after a DATA that was not answered 354: it enters message mode
 *   on the DATA command, whatever the reply.
 * - `tshark-split-reply`: tshark has an extra code right after the same code of a multi-line reply: it gives a
 *   code per segment, and the reply's lines came in several segments.
 * - `tshark-implicit-tls`: a session smtpscope saw as implicit TLS is not SMTP to tshark's dissector.
 */

import type { CommandRecord, SmtpSession } from '../../../src/model/types.js';
import { toSmtpVerb } from '../../../src/smtp/command-parser.js';
import type { Finding } from './finding.js';
import { finding } from './finding.js';
import { hasDialogue } from './session-views.js';
import type { TsharkRow } from './tshark-fields.js';

export const TSHARK_RULES = {
  authLine: 'tshark-auth-line',
  oneSegment: 'tshark-one-segment',
  preGreeting: 'tshark-pre-greeting',
  afterBdat: 'tshark-after-bdat',
  rejectedData: 'tshark-rejected-data',
  splitReply: 'tshark-split-reply',
  implicitTls: 'tshark-implicit-tls',
} as const;

/** One command of smtpscope's sequence, with what the rules need to know about it. */
interface OurCommand {
  readonly name: string;
  /** Rules that may explain tshark lacking it. */
  readonly missable: readonly string[];
  readonly authResponse: boolean;
}

interface OurReply {
  readonly code: string;
  readonly multiLine: boolean;
  readonly tsMicros: number;
}

const commandName = (c: CommandRecord): string => (c.verb === 'UNKNOWN' ? c.verbText.toUpperCase() : c.verb);

export function ourCommands(session: SmtpSession): OurCommand[] {
  const out: OurCommand[] = [];
  const greetingAt = session.greeting?.tsMicros ?? null;
  let bdatSeen = false;
  let rejectedData = false;
  const cs = session.commands;
  cs.forEach((c, i) => {
    if (c.verb === 'BDAT') bdatSeen = true;
    if (c.verb !== 'END-OF-DATA') {
      const missable: string[] = [];
      const sameSegment =
        (cs[i - 1] !== undefined && cs[i - 1]?.tsMicros === c.tsMicros) ||
        (cs[i + 1] !== undefined && cs[i + 1]?.tsMicros === c.tsMicros);
      if (sameSegment) missable.push(TSHARK_RULES.oneSegment);
      if (greetingAt !== null && c.tsMicros < greetingAt) missable.push(TSHARK_RULES.preGreeting);
      if (bdatSeen) missable.push(TSHARK_RULES.afterBdat);
      if (rejectedData) missable.push(TSHARK_RULES.rejectedData);
      out.push({ name: commandName(c), missable, authResponse: c.verb === 'AUTH-RESPONSE' });
    }
    if (c.verb === 'DATA' && c.reply !== null && c.reply.code !== 354) rejectedData = true;
  });
  return out;
}

/**
 * smtpscope's replies in the order the server sent them: the greeting, then the replies of the commands in the
 * order the commands were sent. The model records the end of a message when its reply arrives, after commands
 * pipelined behind it; it is put back right after the last earlier command of its own transaction. Replies no
 * command was waiting for (the session's `unmatchedReplies`) go after the last reply not later than them. The
 * replies are then put in time order (stable, so equal times keep that order).
 */
export function ourReplies(session: SmtpSession): OurReply[] {
  const ordered: CommandRecord[] = [];
  for (const c of session.commands) {
    if (c.verb !== 'END-OF-DATA' || c.transaction === null) {
      ordered.push(c);
      continue;
    }
    let k = ordered.length;
    while (k > 0 && ordered[k - 1]?.transaction !== c.transaction) k--;
    ordered.splice(k === 0 ? ordered.length : k, 0, c);
  }
  const out: OurReply[] = [];
  const g = session.greeting;
  if (g !== null) out.push({ code: String(g.code), multiLine: g.text.includes('\n'), tsMicros: g.tsMicros });
  for (const c of ordered) {
    const r = c.reply;
    if (r !== null)
      out.push({ code: String(r.code), multiLine: r.text.includes('\n'), tsMicros: r.tsMicros });
  }
  // Replies in time order; equal times (one segment, or a capture without times) keep the command order.
  out.sort((x, y) => x.tsMicros - y.tsMicros);
  for (const r of session.unmatchedReplies) {
    let k = out.length;
    while (k > 0 && (out[k - 1]?.tsMicros ?? 0) > r.tsMicros) k--;
    out.splice(k, 0, { code: String(r.code), multiLine: r.text.includes('\n'), tsMicros: r.tsMicros });
  }
  return out;
}

/** How one token of an alignment was used. */
export type Step =
  | { readonly kind: 'match'; readonly i: number; readonly j: number }
  | { readonly kind: 'absorb'; readonly j: number }
  | { readonly kind: 'ours'; readonly i: number }
  | { readonly kind: 'theirs'; readonly j: number };

export interface AlignCosts {
  readonly match: (i: number, j: number) => boolean;
  /** Whether theirs[j] can be one more copy of ours[i], just matched (a reply tshark shows once per segment). */
  readonly absorb: (i: number, j: number) => boolean;
  /** 0 when ours[i] may be missing from theirs (a rule explains it), 1 otherwise. */
  readonly oursOnly: (i: number) => number;
}

/**
 * The alignment of ours (n tokens) with theirs (m tokens) that leaves the fewest unexplained tokens: tokens are
 * matched in order, skipped on either side (theirs-only always unexplained), or absorbed (an extra copy on
 * theirs of the token just matched). Ties prefer matching.
 */
export function align(n: number, m: number, costs: AlignCosts): { cost: number; steps: Step[] } {
  // best[(i * (m + 1) + j) * 2 + a]: least cost from (i, j); a = 1 when ours[i - 1] was just matched.
  const best = new Float64Array((n + 1) * (m + 1) * 2);
  const at = (i: number, j: number, a: number): number => (i * (m + 1) + j) * 2 + a;
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      for (let a = 0; a < 2; a++) {
        if (i === n && j === m) continue;
        let c = Number.POSITIVE_INFINITY;
        if (i < n && j < m && costs.match(i, j)) c = Math.min(c, best[at(i + 1, j + 1, 1)] ?? 0);
        if (a === 1 && j < m && costs.absorb(i - 1, j)) c = Math.min(c, best[at(i, j + 1, 1)] ?? 0);
        if (i < n) c = Math.min(c, costs.oursOnly(i) + (best[at(i + 1, j, 0)] ?? 0));
        if (j < m) c = Math.min(c, 1 + (best[at(i, j + 1, 0)] ?? 0));
        best[at(i, j, a)] = c;
      }
    }
  }
  const steps: Step[] = [];
  let i = 0;
  let j = 0;
  let a = 0;
  while (i < n || j < m) {
    const here = best[at(i, j, a)] ?? 0;
    if (i < n && j < m && costs.match(i, j) && best[at(i + 1, j + 1, 1)] === here) {
      steps.push({ kind: 'match', i, j });
      i++;
      j++;
      a = 1;
    } else if (a === 1 && j < m && costs.absorb(i - 1, j) && best[at(i, j + 1, 1)] === here) {
      steps.push({ kind: 'absorb', j });
      j++;
    } else if (i < n && costs.oursOnly(i) + (best[at(i + 1, j, 0)] ?? 0) === here) {
      steps.push({ kind: 'ours', i });
      i++;
      a = 0;
    } else {
      steps.push({ kind: 'theirs', j });
      j++;
      a = 0;
    }
  }
  return { cost: best[at(0, 0, 0)] ?? 0, steps };
}

interface SequenceResult {
  readonly ours: string;
  readonly theirs: string;
  readonly explained: boolean;
  readonly rules: readonly string[];
}

const show = (tokens: readonly string[]): string =>
  tokens.length === 0 ? '-' : tokens.map((t) => (t === '' ? '""' : t)).join(' ');

export function compareCommandSequence(
  ours: readonly OurCommand[],
  theirs: readonly string[],
): SequenceResult {
  const t = theirs.map((x) => (x === 'STAR' ? 'STARTTLS' : x));
  const { cost, steps } = align(ours.length, t.length, {
    match: (i, j) => {
      const c = ours[i];
      const x = t[j] ?? '';
      return c !== undefined && (c.authResponse ? toSmtpVerb(x) === null : c.name === x);
    },
    absorb: () => false,
    oursOnly: (i) => (ours[i]?.authResponse === true || (ours[i]?.missable.length ?? 0) > 0 ? 0 : 1),
  });
  const rules = new Set<string>();
  const shown: string[] = [];
  for (const step of steps) {
    if (step.kind === 'match') {
      const c = ours[step.i];
      if (c?.authResponse === true) rules.add(TSHARK_RULES.authLine);
      shown.push(c?.authResponse === true ? (t[step.j] ?? '') : (c?.name ?? ''));
    } else if (step.kind === 'ours') {
      const c = ours[step.i];
      if (c === undefined || c.authResponse) continue;
      const rule = c.missable[0];
      if (rule !== undefined) rules.add(rule);
      shown.push(c.name);
    }
  }
  return { ours: show(shown), theirs: show(t), explained: cost === 0, rules: [...rules].sort() };
}

export function compareCodeSequence(ours: readonly OurReply[], theirs: readonly string[]): SequenceResult {
  const { cost, steps } = align(ours.length, theirs.length, {
    match: (i, j) => ours[i]?.code === theirs[j],
    absorb: (i, j) => ours[i]?.multiLine === true && ours[i]?.code === theirs[j],
    oursOnly: () => 1,
  });
  const rules = new Set<string>();
  if (steps.some((s) => s.kind === 'absorb')) rules.add(TSHARK_RULES.splitReply);
  return {
    ours: show(ours.map((r) => r.code)),
    theirs: show(theirs),
    explained: cost === 0,
    rules: [...rules].sort(),
  };
}

function sequenceFinding(capture: string, check: string, r: SequenceResult): Finding {
  const f = finding(capture, 'tshark', check, r.ours, r.theirs);
  if (!r.explained) return f;
  return r.rules.length === 0 ? { ...f, agree: true } : { ...f, agree: true, rule: r.rules.join(',') };
}

/**
 * The ports of a stream as [client side, server side], from its first row with a command or a code; `oriented`
 * false when no row has either (tshark still saw the stream: a row with ports but no command or code, e.g. a
 * segment of message data) and the ports are those of its first row, in either order.
 */
export function streamPorts(
  rows: readonly TsharkRow[],
): { readonly ports: readonly [number, number]; readonly oriented: boolean } | null {
  for (const r of rows) {
    if (r.ports === null || r.commands.length + r.codes.length === 0) continue;
    return { ports: r.commands.length > 0 ? r.ports : [r.ports[1], r.ports[0]], oriented: true };
  }
  for (const r of rows) if (r.ports !== null) return { ports: r.ports, oriented: false };
  return null;
}

/** Whether the session is the connection of a stream with these ports. */
function onPorts(s: SmtpSession, stream: NonNullable<ReturnType<typeof streamPorts>>): boolean {
  const [a, b] = stream.ports;
  if (s.client.port === a && s.server.port === b) return true;
  return !stream.oriented && s.client.port === b && s.server.port === a;
}

export function compareTshark(
  capture: string,
  rows: readonly TsharkRow[],
  sessions: readonly SmtpSession[],
): Finding[] {
  const out: Finding[] = [];
  const dialogue = sessions.filter(hasDialogue).sort((a, b) => a.startedAt - b.startedAt);
  const tlsOnly = dialogue.filter((s) => s.tls.mode === 'implicit' && s.commands.length === 0);
  const plain = dialogue.filter((s) => !tlsOnly.includes(s));
  const byStream = new Map<number, TsharkRow[]>();
  const streamed = rows.length > 0 && rows.every((r) => r.stream !== null);
  const groups: { at: string; rows: TsharkRow[]; sessions: SmtpSession[] }[] = [];
  if (streamed) {
    for (const r of rows) byStream.set(r.stream ?? -1, [...(byStream.get(r.stream ?? -1) ?? []), r]);
    const used = new Set<SmtpSession>();
    for (const streamRows of byStream.values()) {
      const ports = streamPorts(streamRows);
      const mine = plain.filter((s) => ports !== null && onPorts(s, ports));
      for (const s of mine) used.add(s);
      const at = ports === null ? 'stream' : String(mine[0]?.client.port ?? ports.ports[0]);
      if (mine.length === 0) {
        out.push(finding(capture, 'tshark', `${at}.session`, 'absent', 'present', { lostSession: true }));
        continue;
      }
      groups.push({ at, rows: streamRows, sessions: mine });
    }
    for (const s of plain.filter((x) => !used.has(x)))
      groups.push({ at: String(s.client.port), rows: [], sessions: [s] });
  } else if (rows.length > 0 || plain.length > 0) {
    groups.push({
      at: plain.length === 1 ? String(plain[0]?.client.port) : 'capture',
      rows: [...rows],
      sessions: plain,
    });
  }
  for (const g of groups) {
    const commands = g.sessions.flatMap(ourCommands);
    const replies = g.sessions.flatMap(ourReplies);
    out.push(
      sequenceFinding(
        capture,
        `${g.at}.commands`,
        compareCommandSequence(
          commands,
          g.rows.flatMap((r) => r.commands),
        ),
      ),
    );
    out.push(
      sequenceFinding(
        capture,
        `${g.at}.codes`,
        compareCodeSequence(
          replies,
          g.rows.flatMap((r) => r.codes),
        ),
      ),
    );
  }
  if (streamed || rows.length === 0) {
    // A TCP stream is a connection's four-tuple: sessions reusing one (a capture joined from two runs) count once.
    const tuples = (list: readonly SmtpSession[]): number =>
      new Set(list.map((x) => `${x.client.ip}:${x.client.port}>${x.server.ip}:${x.server.port}`)).size;
    const theirs = byStream.size;
    const ours = tuples(plain);
    const f = finding(capture, 'tshark', 'streams', String(ours + tuples(tlsOnly)), String(theirs));
    out.push(!f.agree && ours === theirs ? { ...f, agree: true, rule: TSHARK_RULES.implicitTls } : f);
  }
  return out;
}
