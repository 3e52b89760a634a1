/**
 * `smtpscope transcript`: each session as the paired dialogue, like a mail server's own protocol log.
 * Every wire string passes through safeText, so nothing from the capture can drive the terminal.
 */

import { replyMeaning } from '../model/reply-meaning.js';
import { tlsDecryptionOf, tlsDecryptionText } from '../model/tls-decryption.js';
import type { CommandRecord, ReplyRecord, SmtpSession, TlsInfo } from '../model/types.js';
import { safeText } from '../util/display-text.js';
import { endpoint, formatBytes, formatDuration, isoMicros } from './format.js';
import { endDescription } from './session-end.js';

/**
 * One line of a transcript and what it is, so that a view can style it from the data (the dashboard colours
 * replies by code) instead of reading its own text back.
 */
export type TranscriptLine =
  | { readonly kind: 'header'; readonly text: string }
  /** A client command, or the client's message body in brief. */
  | { readonly kind: 'command'; readonly text: string }
  | { readonly kind: 'reply'; readonly text: string; readonly code: number }
  /** What a failure reply's code and enhanced status stand for. */
  | { readonly kind: 'meaning'; readonly text: string }
  | { readonly kind: 'anomaly'; readonly text: string }
  /** TLS hellos, AUTH outcomes, commands not kept. */
  | { readonly kind: 'note'; readonly text: string }
  | { readonly kind: 'end'; readonly text: string };

/** Marks a line that travelled encrypted and was read from decrypted TLS bytes (docs/TLS.md). */
export const ENCRYPTED_MARK = '~ ';

export interface TranscriptOptions {
  /** Show times relative to the session start on every line (default true). */
  readonly times?: boolean;
}

function replyLines(reply: ReplyRecord): string[] {
  const lines = reply.text.split('\n');
  return lines.map((line, i) => `${reply.code}${i === lines.length - 1 ? ' ' : '-'}${line}`);
}

/** For a failure reply (4xx/5xx): what its code and enhanced status stand for, e.g. `#  550: ...; 5.1.1: ...`. */
function meaningLine(reply: ReplyRecord): string | null {
  if (reply.code < 400) return null;
  const m = replyMeaning(reply);
  if (m === null) return null;
  const status =
    m.enhancedStatus === null || m.statusMeaning === null ? '' : `; ${m.enhancedStatus}: ${m.statusMeaning}`;
  return `#  ${m.code}: ${m.codeMeaning}${status}`;
}

/** The TLS hellos in one line: versions and SNI offered by the client, version and cipher chosen by the server. */
function tlsLine(tls: TlsInfo): string {
  const parts: string[] = [];
  const client = tls.clientHello;
  const server = tls.serverHello;
  if (client !== null)
    parts.push(
      `client hello ${client.versions.join(', ') || 'version unknown'}${client.sni === null ? '' : `, SNI ${client.sni}`}`,
    );
  if (server !== null)
    parts.push(
      `server hello ${server.versions[server.versions.length - 1] ?? 'version unknown'}${server.cipher === null ? '' : `, cipher ${server.cipher}`}`,
    );
  if (parts.length === 0) parts.push('no hello read');
  return `*  TLS (${tls.mode}): ${parts.join('; ')}`;
}

function commandLine(c: CommandRecord): string {
  if (c.verb === 'END-OF-DATA') return '.';
  if (c.verb === 'AUTH-RESPONSE') return c.argument;
  return c.argument === '' ? c.verbText : `${c.verbText} ${c.argument}`;
}

export function formatTranscript(session: SmtpSession, options: TranscriptOptions = {}): string {
  return transcriptLines(session, options)
    .map((l) => l.text)
    .join('\n');
}

/** The transcript as typed lines: the header, then the dialogue in time order, then how it ended. */
export function transcriptLines(session: SmtpSession, options: TranscriptOptions = {}): TranscriptLine[] {
  const times = options.times ?? true;
  const t0 = session.startedAt;
  const stamp = (ts: number): string => (times ? `+${((ts - t0) / 1e6).toFixed(6)} ` : '');
  const blank = times ? ' '.repeat(stamp(t0).length) : '';
  const out: TranscriptLine[] = [];
  // Lines read from decrypted TLS bytes carry ENCRYPTED_MARK before "C:"/"S:", the others two spaces; a session
  // with no such line is printed without that column (exactly as without decryption).
  const decryption = tlsDecryptionOf(session.tls);
  const greetingEncrypted = session.tls.mode === 'implicit' && decryption?.kind === 'decrypted';
  const marked = greetingEncrypted || session.commands.some((c) => c.encrypted === true);
  const mark = (encrypted: boolean | undefined): string =>
    marked ? (encrypted === true ? ENCRYPTED_MARK : ' '.repeat(ENCRYPTED_MARK.length)) : '';
  /** The reply's lines, each after `prefix`, then the meaning of a failure reply. */
  const pushReply = (reply: ReplyRecord, prefix: string, encrypted: boolean | undefined): void => {
    for (const line of replyLines(reply))
      out.push({ kind: 'reply', code: reply.code, text: `${prefix}${mark(encrypted)}S: ${safeText(line)}` });
    const meaning = meaningLine(reply);
    if (meaning !== null) out.push({ kind: 'meaning', text: `${blank}${meaning}` });
  };
  const flags: string[] = [session.protocol.toUpperCase(), `oriented by ${session.orientation}`];
  if (session.quality.midstream) flags.push('midstream');
  if (session.quality.oneSided !== null) flags.push(session.quality.oneSided);
  if (session.quality.gaps > 0) flags.push(`${session.quality.gaps} gap(s)`);
  out.push({
    kind: 'header',
    text: `Session ${session.id}  ${endpoint(session.client)} -> ${endpoint(session.server)}  ${isoMicros(session.startedAt)}  (${flags.join(', ')})`,
  });
  // Anomalies and AUTH outcomes go between the rows in time order (a tie goes after the row: an anomaly about a
  // command has the command's time).
  const side: { tsMicros: number; line: TranscriptLine }[] = [];
  for (const a of session.anomalies)
    side.push({
      tsMicros: a.tsMicros,
      line: {
        kind: 'anomaly',
        text: `${stamp(a.tsMicros)}!  ${a.code}${a.detail === '' ? '' : `: ${safeText(a.detail)}`}`,
      },
    });
  for (const a of session.auth)
    side.push({
      tsMicros: a.tsMicros,
      line: {
        kind: 'note',
        text: `${stamp(a.tsMicros)}*  AUTH ${safeText(a.mechanism)}${a.username === null ? '' : ` user ${safeText(a.username)}`}: ${a.outcome}`,
      },
    });
  // A reply that answers no command in the capture, at its own time.
  for (const r of session.unmatchedReplies) {
    replyLines(r).forEach((line, i) => {
      side.push({
        tsMicros: r.tsMicros,
        line: {
          kind: 'reply',
          code: r.code,
          text: `${i === 0 ? stamp(r.tsMicros) : blank}${mark(undefined)}S: ${safeText(line)}`,
        },
      });
    });
    side.push({
      tsMicros: r.tsMicros,
      line: { kind: 'note', text: `${blank}   (answers no command in the capture)` },
    });
  }
  side.sort((a, b) => a.tsMicros - b.tsMicros);
  let sideNext = 0;
  const flushSide = (beforeMicros: number): void => {
    while (sideNext < side.length && (side[sideNext]?.tsMicros ?? 0) < beforeMicros)
      out.push((side[sideNext++] as { line: TranscriptLine }).line);
  };
  const showTls = session.tls.clientHello !== null || session.tls.serverHello !== null;
  let starttlsRow: CommandRecord | null = null;
  for (const c of session.commands) if (c.verb === 'STARTTLS' && c.reply?.code === 220) starttlsRow = c;
  const decryptionLine: TranscriptLine | null =
    decryption === null
      ? null
      : { kind: 'note', text: `${blank}*  TLS decryption: ${safeText(tlsDecryptionText(decryption))}` };
  if (session.tls.mode === 'implicit') {
    out.push({ kind: 'note', text: `${blank}${safeText(tlsLine(session.tls))}` });
    if (decryptionLine !== null) out.push(decryptionLine);
  }
  if (session.greeting !== null) {
    flushSide(session.greeting.tsMicros);
    pushReply(session.greeting, stamp(session.greeting.tsMicros), greetingEncrypted);
  }
  const transactions = new Map(session.transactions.map((t) => [t.depth, t]));
  const ended = new Set<number>();
  for (const c of session.commands)
    if (c.verb === 'END-OF-DATA' && c.transaction !== null) ended.add(c.transaction);
  let previous: CommandRecord | null = null;
  for (const c of session.commands) {
    const latency =
      c.latencyMicros === null
        ? ''
        : `   [${formatDuration(c.latencyMicros)}${c.pipelined ? ', pipelined' : ''}]`;
    const last = previous;
    previous = c;
    if (
      c.verb === 'END-OF-DATA' &&
      c.transaction !== null &&
      last !== null &&
      last.transaction === c.transaction &&
      (last.verb === 'END-OF-DATA' || last.verb === 'BDAT') &&
      c.argument !== ''
    ) {
      // A further LMTP per-recipient reply to the same final dot: the dot and the body were shown once.
      if (c.reply !== null) pushReply(c.reply, blank, c.encrypted);
      continue;
    }
    flushSide(c.tsMicros);
    if (c.verb === 'END-OF-DATA' && c.transaction !== null) {
      const t = transactions.get(c.transaction);
      if (t !== undefined) {
        const size = t.sizeBytes === null ? 'size unknown' : formatBytes(t.sizeBytes);
        out.push({
          kind: 'command',
          text: `${blank}${mark(c.encrypted)}C: <message body: ${size}${t.messageComplete ? '' : ', incomplete'}>`,
        });
      }
    }
    out.push({
      kind: 'command',
      text: `${stamp(c.tsMicros)}${mark(c.encrypted)}C: ${safeText(commandLine(c))}${latency}`,
    });
    if (c.reply !== null) pushReply(c.reply, blank, c.encrypted);
    if (c === starttlsRow && session.tls.mode === 'starttls') {
      if (showTls) out.push({ kind: 'note', text: `${blank}${safeText(tlsLine(session.tls))}` });
      if (decryptionLine !== null) out.push(decryptionLine);
    }
    if (c.verb === 'DATA' && c.reply?.code === 354 && c.transaction !== null && !ended.has(c.transaction)) {
      const t = transactions.get(c.transaction);
      if (t !== undefined) {
        const size = t.sizeBytes === null ? 'size unknown' : formatBytes(t.sizeBytes);
        out.push({
          kind: 'command',
          text: `${blank}${mark(c.encrypted)}C: <message body: ${size}${t.messageComplete ? '' : ', incomplete'}; end-of-data not captured>`,
        });
      }
    }
  }
  if (session.commandsDropped > 0)
    out.push({ kind: 'note', text: `${blank}… ${session.commandsDropped} more command(s) not kept (limit)` });
  flushSide(Number.POSITIVE_INFINITY);
  out.push({
    kind: 'end',
    text: `${blank}-- ended: ${endDescription(session)} (${session.closeReason}), ${formatDuration(session.endedAt - session.startedAt)}`,
  });
  return out;
}
