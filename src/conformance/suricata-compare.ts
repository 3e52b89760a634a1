/**
 * smtpscope against suricata-verify expectations. A test's `checks:` list holds filters on Suricata's eve.json;
 * a filter passes when exactly `count` events match every key of its `match` mapping. Only filters on
 * `event_type: smtp` are evaluated, and only for Suricata 8.0.7 and later (filters whose `requires` says
 * `lt-version` are older Suricata behaviour and skipped).
 *
 * smtpscope's equivalent of Suricata's smtp events: one per transaction, in order (`tx_id` 0, 1, ...); one for
 * DATA/BDAT/RCPT commands sent outside a transaction (up to the next HELO, EHLO, RSET or MAIL), whose
 * email.status is PARSE_DONE when DATA was answered 354 and the end of the message was answered; and one
 * session-level event for a session that sent commands but none of these. Field mapping: smtp.helo ↔ session.helo;
 * smtp.mail_from ↔ MAIL FROM address; smtp.rcpt_to[i] ↔ i-th RCPT TO address (Suricata logs the path as sent,
 * so one pair of angle brackets is removed before comparing); email.from / email.to[i] ↔ header addresses;
 * email.subject, email.message_id, email.date, email.received[i] ↔ the message summary; email.attachment[i] ↔
 * file names of MIME parts; email.status PARSE_DONE ↔ the whole message was seen; src_ip/src_port/dest_ip/
 * dest_port ↔ client and server endpoints. Other keys (pcap_cnt, hashes, URLs, X-Mailer) are not compared and
 * are listed in the report.
 */

import type { SmtpSession, TransactionRecord } from '../model/types.js';
import { bareAddress, type Finding, finding } from './finding.js';
import type { YamlValue } from './yaml-subset.js';

type EventValue = string | number | null;

/** One smtpscope record in the shape of a Suricata smtp event: flat key → value. */
export type SuricataLikeEvent = ReadonlyMap<string, EventValue>;

const TARGET_VERSION = [8, 0, 7] as const;

export function smtpEventsOf(sessions: readonly SmtpSession[]): SuricataLikeEvent[] {
  const out: SuricataLikeEvent[] = [];
  for (const s of sessions) {
    const base = new Map<string, EventValue>([
      ['event_type', 'smtp'],
      ['src_ip', s.client.ip],
      ['src_port', s.client.port],
      ['dest_ip', s.server.ip],
      ['dest_port', s.server.port],
      ['proto', 'TCP'],
    ]);
    if (s.helo !== null) base.set('smtp.helo', s.helo);
    const before = out.length;
    let orphan: Map<string, EventValue> | null = null;
    let orphanData: 'none' | 'accepted' | 'done' = 'none';
    const seenDepths = new Set<number>();
    const closeOrphan = (): void => {
      if (orphan !== null && orphanData !== 'none')
        orphan.set('email.status', orphanData === 'done' ? 'PARSE_DONE' : 'PARSE_ERROR');
      orphan = null;
      orphanData = 'none';
    };
    for (const c of s.commands) {
      if (c.transaction !== null) {
        closeOrphan();
        const t = s.transactions.find((x) => x.depth === c.transaction);
        if (t !== undefined && !seenDepths.has(t.depth)) {
          seenDepths.add(t.depth);
          out.push(transactionEvent(base, t, out.length - before));
        }
        continue;
      }
      if (
        c.verb === 'DATA' ||
        c.verb === 'BDAT' ||
        c.verb === 'RCPT' ||
        (c.verb === 'END-OF-DATA' && orphan !== null)
      ) {
        if (orphan === null) {
          orphan = new Map([...base, ['tx_id', out.length - before]]);
          out.push(orphan);
        }
        if (c.verb === 'DATA' && c.reply?.code === 354) orphanData = 'accepted';
        if (c.verb === 'END-OF-DATA' && orphanData === 'accepted' && c.reply !== null) orphanData = 'done';
      } else if (
        c.verb === 'HELO' ||
        c.verb === 'EHLO' ||
        c.verb === 'LHLO' ||
        c.verb === 'RSET' ||
        c.verb === 'MAIL'
      ) {
        closeOrphan();
      }
    }
    closeOrphan();
    for (const t of s.transactions) {
      if (!seenDepths.has(t.depth)) out.push(transactionEvent(base, t, out.length - before));
    }
    if (out.length === before && s.commands.length > 0) out.push(new Map([...base, ['tx_id', 0]]));
  }
  return out;
}

function transactionEvent(
  base: ReadonlyMap<string, EventValue>,
  t: TransactionRecord,
  index: number,
): SuricataLikeEvent {
  const e = new Map(base);
  e.set('tx_id', index);
  if (t.mailFrom !== null) e.set('smtp.mail_from', t.mailFrom);
  t.recipients.forEach((r, i) => {
    e.set(`smtp.rcpt_to[${i}]`, r.address);
  });
  const m = t.message;
  if (m !== null) {
    if (m.from !== null) e.set('email.from', bareAddress(m.from));
    m.to.forEach((to, i) => {
      e.set(`email.to[${i}]`, bareAddress(to));
    });
    if (m.subject !== null) e.set('email.subject', m.subject);
    if (m.messageId !== null) e.set('email.message_id', m.messageId);
    if (m.date !== null) e.set('email.date', m.date);
    m.received.forEach((r, i) => {
      e.set(`email.received[${i}]`, r);
    });
    m.parts
      .filter((p) => p.filename !== null)
      .forEach((p, i) => {
        e.set(`email.attachment[${i}]`, p.filename);
      });
  }
  if (t.mode !== null) e.set('email.status', t.messageComplete ? 'PARSE_DONE' : 'PARSE_ERROR');
  return e;
}

const ADDRESS_KEYS = /^(smtp\.mail_from|smtp\.rcpt_to\[\d+\]|email\.from|email\.to\[\d+\])$/;
const COMPARED_KEYS =
  /^(event_type|tx_id|src_ip|src_port|dest_ip|dest_port|proto|smtp\.helo|smtp\.mail_from|smtp\.rcpt_to\[\d+\]|email\.(from|to\[\d+\]|subject|message_id|date|received\[\d+\]|attachment\[\d+\]|status))$/;

function normalize(key: string, value: YamlValue | EventValue): string {
  const text = String(value);
  if (ADDRESS_KEYS.test(key)) return bareAddress(text);
  if (key.startsWith('email.received[')) return text.replace(/\s+/g, ' ').trim();
  return text;
}

function versionOk(requires: YamlValue | undefined): boolean {
  if (requires === null || requires === undefined || typeof requires !== 'object' || Array.isArray(requires))
    return true;
  const cmp = (v: YamlValue | undefined): number => {
    const parts = String(v).split('.').map(Number);
    for (let i = 0; i < 3; i++) {
      const d = (TARGET_VERSION[i] ?? 0) - (parts[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  if (requires['min-version'] !== undefined && cmp(requires['min-version']) < 0) return false;
  if (requires['lt-version'] !== undefined && cmp(requires['lt-version']) >= 0) return false;
  return true;
}

export interface SuricataResult {
  readonly findings: Finding[];
  /** Keys seen in evaluated filters that smtpscope has no equivalent for. */
  readonly notCompared: ReadonlySet<string>;
}

export function compareSuricata(
  capture: string,
  tests: readonly { readonly name: string; readonly doc: YamlValue }[],
  sessions: readonly SmtpSession[],
): SuricataResult {
  const events = smtpEventsOf(sessions);
  const findings: Finding[] = [];
  const notCompared = new Set<string>();
  for (const test of tests) {
    const doc = test.doc;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) continue;
    if (!versionOk(doc['requires'])) continue;
    const checks = Array.isArray(doc['checks']) ? doc['checks'] : [];
    checks.forEach((check, index) => {
      if (check === null || typeof check !== 'object' || Array.isArray(check)) return;
      const filter = check['filter'];
      if (filter === null || filter === undefined || typeof filter !== 'object' || Array.isArray(filter))
        return;
      if (!versionOk(filter['requires'])) return;
      const match = filter['match'];
      if (match === null || match === undefined || typeof match !== 'object' || Array.isArray(match)) return;
      if (match['event_type'] !== 'smtp') return;
      const wanted: [string, string][] = [];
      const absent: string[] = [];
      for (const [key, value] of Object.entries(match)) {
        if (key === 'not-has-key' || key === 'has-key') {
          const keys = Array.isArray(value) ? value.map(String) : [String(value)];
          for (const k of keys) {
            if (!COMPARED_KEYS.test(k)) notCompared.add(k);
            else if (key === 'not-has-key') absent.push(k);
            else wanted.push([k, '\u0000any']);
          }
          continue;
        }
        if (!COMPARED_KEYS.test(key)) {
          notCompared.add(key);
          continue;
        }
        wanted.push([key, normalize(key, value)]);
      }
      const count = events.filter(
        (e) =>
          wanted.every(([k, v]) => e.has(k) && (v === '\u0000any' || normalize(k, e.get(k) ?? null) === v)) &&
          absent.every((k) => !e.has(k)),
      ).length;
      const expected = typeof filter['count'] === 'number' ? filter['count'] : 1;
      const what = wanted
        .map(([k, v]) => (v === '\u0000any' ? `has ${k}` : `${k}=${v}`))
        .concat(absent.map((k) => `no ${k}`));
      findings.push({
        ...finding(capture, 'suricata', `${test.name}#${index + 1}.count`, String(count), String(expected)),
        theirs: `${expected} × {${what.join(', ')}}`,
        ours: `${count} × {${what.join(', ')}}`,
        agree: count === expected,
      });
    });
  }
  return { findings, notCompared };
}
