/**
 * Zeek-compatible `smtp.log` and `conn.log` rows (docs/ZEEK.md): Zeek's ASCII format (tab-separated, `#fields` /
 * `#types` header lines, `-` unset, `(empty)` for an empty set, `,` between set elements), Zeek's field names and
 * meanings, so zeek-cut, RITA and Zui read them. `uid` is derived from the connection (addresses, ports, first
 * packet time): stable across runs and the same in both logs.
 */

import { createHash } from 'node:crypto';
import type { ReplyRecord, SmtpSession, TransactionRecord } from '../model/types.js';

export interface ZeekLogSpec {
  readonly path: 'smtp' | 'conn';
  readonly fields: readonly string[];
  readonly types: readonly string[];
}

export const SMTP_LOG: ZeekLogSpec = {
  path: 'smtp',
  fields: [
    'ts',
    'uid',
    'id.orig_h',
    'id.orig_p',
    'id.resp_h',
    'id.resp_p',
    'trans_depth',
    'helo',
    'mailfrom',
    'rcptto',
    'date',
    'from',
    'to',
    'cc',
    'reply_to',
    'msg_id',
    'in_reply_to',
    'subject',
    'x_originating_ip',
    'first_received',
    'second_received',
    'last_reply',
    'path',
    'user_agent',
    'tls',
    'fuids',
  ],
  types: [
    'time',
    'string',
    'addr',
    'port',
    'addr',
    'port',
    'count',
    'string',
    'string',
    'set[string]',
    'string',
    'string',
    'set[string]',
    'set[string]',
    'string',
    'string',
    'string',
    'string',
    'addr',
    'string',
    'string',
    'string',
    'vector[addr]',
    'string',
    'bool',
    'vector[string]',
  ],
};

export const CONN_LOG: ZeekLogSpec = {
  path: 'conn',
  fields: [
    'ts',
    'uid',
    'id.orig_h',
    'id.orig_p',
    'id.resp_h',
    'id.resp_p',
    'proto',
    'service',
    'duration',
    'orig_bytes',
    'resp_bytes',
    'conn_state',
    'local_orig',
    'local_resp',
    'missed_bytes',
    'history',
    'orig_pkts',
    'orig_ip_bytes',
    'resp_pkts',
    'resp_ip_bytes',
    'tunnel_parents',
  ],
  types: [
    'time',
    'string',
    'addr',
    'port',
    'addr',
    'port',
    'enum',
    'string',
    'interval',
    'count',
    'count',
    'string',
    'bool',
    'bool',
    'count',
    'string',
    'count',
    'count',
    'count',
    'count',
    'set[string]',
  ],
};

/** A cell: a value, unset (null → `-`), or a set / vector (an empty one → `(empty)`). */
export type ZeekCell = string | null | readonly string[];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `C` and the base-62 digits of 96 bits of SHA-256 over the connection's addresses, ports and first packet time. */
export function zeekUid(session: SmtpSession): string {
  const digest = createHash('sha256')
    .update(
      `${session.client.ip}|${session.client.port}|${session.server.ip}|${session.server.port}|${session.flow.firstTsMicros}`,
    )
    .digest();
  let n = 0n;
  for (let i = 0; i < 12; i++) n = (n << 8n) | BigInt(digest[i] ?? 0);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return `C${out}`;
}

/** Zeek's time: seconds since the epoch with six decimals. */
export function zeekTime(tsMicros: number): string {
  const s = Math.floor(tsMicros / 1_000_000);
  return `${s}.${String(tsMicros - s * 1_000_000).padStart(6, '0')}`;
}

/** Zeek's interval: seconds with six decimals. */
function zeekInterval(micros: number): string {
  return (micros / 1_000_000).toFixed(6);
}

/**
 * Escapes as Zeek's ASCII writer does: backslash, tab and control bytes as `\xHH`; a set element's `,` as `\x2c`;
 * a value that would read as unset or empty (`-`, `(empty)`) starts with `\x2d` / `\x28`.
 */
export function zeekEscape(value: string, inSet: boolean): string {
  let out = value.replace(
    /[\\\t\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  if (inSet) out = out.replace(/,/g, '\\x2c');
  if (out === '-') return '\\x2d';
  if (out === '(empty)') return '\\x28empty)';
  return out;
}

export function formatZeekRow(cells: readonly ZeekCell[]): string {
  return `${cells
    .map((c) => {
      if (c === null) return '-';
      if (typeof c === 'string') return c === '' ? '(empty)' : zeekEscape(c, false);
      return c.length === 0 ? '(empty)' : c.map((x) => zeekEscape(x, true)).join(',');
    })
    .join('\t')}\n`;
}

/** `YYYY-MM-DD-HH-MM-SS` (UTC) for the `#open` / `#close` lines. */
export function zeekStamp(tsMicros: number): string {
  return new Date(Math.floor(tsMicros / 1000)).toISOString().slice(0, 19).replace(/[T:]/g, '-');
}

export function zeekHeader(spec: ZeekLogSpec, openMicros: number): string {
  return [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    `#path\t${spec.path}`,
    `#open\t${zeekStamp(openMicros)}`,
    `#fields\t${spec.fields.join('\t')}`,
    `#types\t${spec.types.join('\t')}`,
    '',
  ].join('\n');
}

export function zeekFooter(closeMicros: number): string {
  return `#close\t${zeekStamp(closeMicros)}\n`;
}

/** `code text-of-last-line`, as Zeek's last_reply. */
function replyText(reply: ReplyRecord | null): string | null {
  if (reply === null) return null;
  const lines = reply.text.split('\n');
  const last = lines[lines.length - 1] ?? '';
  return last === '' ? String(reply.code) : `${reply.code} ${last}`;
}

function lastReply(session: SmtpSession, depth: number | null): ReplyRecord | null {
  let last: ReplyRecord | null = null;
  for (const c of session.commands)
    if ((depth === null || c.transaction === depth) && c.reply !== null) last = c.reply;
  return depth === null && last === null ? session.greeting : last;
}

const IPV4 = /\b(\d{1,3}(?:\.\d{1,3}){3})\b/;

/** Zeek's path: the responder, the originator, then the first address of each Received header (newest first). */
function transmissionPath(session: SmtpSession, t: TransactionRecord | null): string[] {
  const path = [session.server.ip, session.client.ip];
  for (const r of t?.message?.received ?? []) {
    const ip = IPV4.exec(r)?.[1];
    if (ip !== undefined) path.push(ip);
  }
  return path;
}

/** Whether Zeek would log the session at all: a command was seen (a connection with no dialogue is only in conn.log). */
function hasClientActivity(session: SmtpSession): boolean {
  return session.commands.length > 0 || session.transactions.length > 0;
}

/** The smtp.log rows of a session: one per transaction, or one for a session with commands and no transaction. */
export function smtpLogRows(session: SmtpSession, uid: string = zeekUid(session)): ZeekCell[][] {
  if (!hasClientActivity(session)) return [];
  const tls = session.tls.mode !== 'none' ? 'T' : 'F';
  const ids = [
    session.client.ip,
    String(session.client.port),
    session.server.ip,
    String(session.server.port),
  ];
  const rows: ZeekCell[][] = [];
  const transactions: readonly (TransactionRecord | null)[] =
    session.transactions.length === 0 ? [null] : session.transactions;
  for (const t of transactions) {
    const m = t?.message ?? null;
    rows.push([
      zeekTime(t === null || t.depth === 1 ? session.startedAt : t.startedAt),
      uid,
      ...ids,
      String(t?.depth ?? 1),
      session.helo,
      t?.mailFrom ?? null,
      t === null || t.recipients.length === 0 ? null : [...new Set(t.recipients.map((r) => r.address))],
      m?.date ?? null,
      m?.from ?? null,
      m === null || m.to.length === 0 ? null : [...new Set(m.to)],
      m === null || m.cc.length === 0 ? null : [...new Set(m.cc)],
      m?.replyTo ?? null,
      m?.messageId ?? null,
      m?.inReplyTo ?? null,
      m?.subject ?? null,
      null,
      m?.received[0] ?? null,
      m?.received[1] ?? null,
      replyText(lastReply(session, t === null ? null : t.depth)),
      transmissionPath(session, t),
      m?.userAgent ?? null,
      tls,
      null,
    ]);
  }
  return rows;
}

/** Zeek's conn_state from what the reassembly saw (docs/ZEEK.md says where it can only approximate). */
function connState(session: SmtpSession): string {
  const f = session.flow;
  const data = f.c2s.bytes + f.s2c.bytes > 0;
  if (!f.sawSyn) return 'OTH';
  if (!f.sawSynAck) return session.closeReason === 'rst' ? 'REJ' : data ? 'SH' : 'S0';
  if (session.closeReason === 'fin') return 'SF';
  if (session.closeReason === 'rst') return 'RSTO';
  return 'S1';
}

function service(session: SmtpSession): string | null {
  if (session.tls.mode === 'implicit') return 'ssl';
  const smtp = session.greeting !== null || session.commands.length > 0;
  if (!smtp) return null;
  return session.tls.mode === 'starttls' ? 'smtp,ssl' : 'smtp';
}

/** The conn.log row of a session (every session: Zeek logs every connection). */
export function connLogRow(session: SmtpSession, uid: string = zeekUid(session)): ZeekCell[] {
  const f = session.flow;
  return [
    zeekTime(f.firstTsMicros),
    uid,
    session.client.ip,
    String(session.client.port),
    session.server.ip,
    String(session.server.port),
    'tcp',
    service(session),
    zeekInterval(f.lastTsMicros - f.firstTsMicros),
    String(f.c2s.bytes + f.c2s.gapBytes),
    String(f.s2c.bytes + f.s2c.gapBytes),
    connState(session),
    null,
    null,
    String(f.c2s.gapBytes + f.s2c.gapBytes),
    null,
    String(f.c2s.packets),
    null,
    String(f.s2c.packets),
    null,
    null,
  ];
}
