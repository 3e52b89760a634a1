/**
 * smtpscope against suricata-verify expectations. A test's `checks:` list holds filters on Suricata's eve.json;
 * a filter passes when exactly `count` events match every key of its `match` mapping. Filters apply for
 * Suricata 8.0.7 and later (filters whose `requires` says `lt-version` are older Suricata behaviour and skipped).
 * - `event_type: smtp` filters: the number of smtpscope smtp events matching every compared key must equal `count`.
 * - Other filters (no event_type, alert, fileinfo, flow, ...) carry the smtp.* / email.* fields of the transaction
 *   they belong to: when `count` is above 0, some smtpscope event must have those fields (the alert or file keys
 *   themselves are not smtpscope's business). A count of 0 is not compared (a rule that did not fire).
 * - Any sign that Suricata saw an SMTP flow (a filter expecting smtp events or smtp fields, `app_proto: smtp`,
 *   `stats: app_layer.tx.smtp` above 0) requires a smtpscope session: otherwise a lost-session finding.
 * - `has-key` / `not-has-key` name a key, or an array without index (`smtp.rcpt_to`: any element).
 * Normalisation rules (documented in docs/CONFORMANCE.md): a test whose stats say `firewall.blocked` above 0 ran
 * Suricata as a firewall that dropped the flow, so Suricata may log fewer smtp events than the capture holds
 * (`suricata-firewall-blocked`); file names are compared on their first 255 characters, which is all Suricata
 * keeps (`suricata-filename-255`).
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

import type { SmtpSession, TransactionRecord } from '../../../src/model/types.js';
import { bareAddress, type Finding, finding } from './finding.js';
import { hasDialogue } from './session-views.js';
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

/**
 * A value as compared. `unfolded`: rule `suricata-received-unfold` (Received values without any white space).
 */
function normalize(key: string, value: YamlValue | EventValue, unfolded = false): string {
  const text = String(value);
  if (ADDRESS_KEYS.test(key)) return bareAddress(text);
  if (key.startsWith('email.attachment[')) return text.slice(0, SURICATA_FILENAME_MAX);
  if (key.startsWith('email.received['))
    return unfolded ? text.replace(/\s+/g, '') : text.replace(/\s+/g, ' ').trim();
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
  /**
   * `event_type: smtp` count checks not compared because some of their keys are not compared: a count over the
   * other keys would judge another set of events. `<test>#<n> (keys)`.
   */
  readonly skippedCounts: readonly string[];
}

/** Array keys that may be named without an index (`not-has-key: smtp.rcpt_to`): present when any element is. */
const ARRAY_KEYS = /^(smtp\.rcpt_to|email\.(to|attachment|received))$/;

/** Suricata's MIME decoder keeps the first 255 bytes of a file name (and raises MIME_LONG_FILENAME). */
export const SURICATA_FILENAME_MAX = 255;

export function hasEventKey(e: SuricataLikeEvent, key: string): boolean {
  if (e.has(key)) return true;
  return ARRAY_KEYS.test(key) && [...e.keys()].some((k) => k.startsWith(`${key}[`));
}

interface Criteria {
  readonly wanted: readonly (readonly [string, string])[];
  readonly present: readonly string[];
  readonly absent: readonly string[];
  readonly label: string;
  /** Keys of the filter that smtpscope has no equivalent for (not part of the criteria). */
  readonly skipped: readonly string[];
}

const isTransactionKey = (k: string): boolean => k.startsWith('smtp.') || k.startsWith('email.');
const comparable = (k: string): boolean => COMPARED_KEYS.test(k) || ARRAY_KEYS.test(k);

/**
 * What a filter asks of an event, restricted to the keys smtpscope can answer. For an smtp filter every key
 * counts; for other event types (alert, fileinfo, ...) only the smtp.* and email.* keys of the transaction the
 * event belongs to, the rest being about the alert or file itself.
 */
function criteriaOf(
  match: { readonly [key: string]: YamlValue },
  transactionKeysOnly: boolean,
  notCompared: Set<string>,
  unfolded = false,
): Criteria {
  const wanted: [string, string][] = [];
  const present: string[] = [];
  const absent: string[] = [];
  const skipped: string[] = [];
  for (const [key, value] of Object.entries(match)) {
    if (key === 'not-has-key' || key === 'has-key') {
      const keys = Array.isArray(value) ? value.map(String) : [String(value)];
      for (const k of keys) {
        if (transactionKeysOnly && !isTransactionKey(k)) continue;
        if (!comparable(k)) {
          notCompared.add(k);
          skipped.push(k);
        } else (key === 'not-has-key' ? absent : present).push(k);
      }
      continue;
    }
    if (key === 'event_type' || (transactionKeysOnly && !isTransactionKey(key))) continue;
    if (!COMPARED_KEYS.test(key)) {
      notCompared.add(key);
      skipped.push(key);
      continue;
    }
    wanted.push([key, normalize(key, value, unfolded)]);
  }
  const label = wanted
    .map(([k, v]) => `${k}=${v}`)
    .concat(
      present.map((k) => `has ${k}`),
      absent.map((k) => `no ${k}`),
    );
  return { wanted, present, absent, label: `{${label.join(', ')}}`, skipped };
}

function matches(e: SuricataLikeEvent, c: Criteria, unfolded = false): boolean {
  return (
    c.wanted.every(([k, v]) => e.has(k) && normalize(k, e.get(k) ?? null, unfolded) === v) &&
    c.present.every((k) => hasEventKey(e, k)) &&
    c.absent.every((k) => !hasEventKey(e, k))
  );
}

const isMapping = (v: YamlValue | undefined): v is { [key: string]: YamlValue } =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

/** Whether the test's `stats:` checks say Suricata's firewall blocked packets (`firewall.blocked` above 0). */
export function firewallBlocked(checks: readonly YamlValue[]): boolean {
  return checks.some((c) => {
    const stats = isMapping(c) ? c['stats'] : undefined;
    return isMapping(stats) && typeof stats['firewall.blocked'] === 'number' && stats['firewall.blocked'] > 0;
  });
}

/** The normalisation rules of this comparison, by name (docs/CONFORMANCE.md lists them with their reasons). */
export const SURICATA_RULES = {
  firewallBlocked: 'suricata-firewall-blocked',
  filenameCut: 'suricata-filename-255',
  receivedUnfold: 'suricata-received-unfold',
} as const;

const hasReceived = (c: Criteria): boolean => c.wanted.some(([k]) => k.startsWith('email.received['));

export function compareSuricata(
  capture: string,
  tests: readonly { readonly name: string; readonly doc: YamlValue }[],
  sessions: readonly SmtpSession[],
): SuricataResult {
  const events = smtpEventsOf(sessions);
  const findings: Finding[] = [];
  const notCompared = new Set<string>();
  const skippedCounts: string[] = [];
  const longNames = events.some((e) =>
    [...e].some(([k, v]) => k.startsWith('email.attachment[') && String(v).length > SURICATA_FILENAME_MAX),
  );
  const sawSmtp = sessions.some(hasDialogue);
  for (const test of tests) {
    const doc = test.doc;
    if (!isMapping(doc)) continue;
    if (!versionOk(doc['requires'])) continue;
    const checks = Array.isArray(doc['checks']) ? doc['checks'] : [];
    const blocked = firewallBlocked(checks);
    // Evidence that Suricata saw an SMTP flow: then smtpscope must report a session (never acceptable otherwise).
    const evidence: string[] = [];
    checks.forEach((check, index) => {
      if (!isMapping(check)) return;
      const stats = check['stats'];
      if (isMapping(stats)) {
        const tx = stats['app_layer.tx.smtp'];
        if (typeof tx === 'number' && tx > 0) evidence.push(`#${index + 1} stats app_layer.tx.smtp=${tx}`);
        return;
      }
      const filter = check['filter'];
      if (!isMapping(filter) || !versionOk(filter['requires'])) return;
      const match = filter['match'];
      if (!isMapping(match)) return;
      const expected = typeof filter['count'] === 'number' ? filter['count'] : 1;
      const eventType = match['event_type'];
      const smtpFields = Object.keys(match).some(isTransactionKey);
      if (expected > 0 && (eventType === 'smtp' || match['app_proto'] === 'smtp' || smtpFields))
        evidence.push(`#${index + 1} ${String(eventType ?? 'event')} count=${expected}`);
      const at = `${test.name}#${index + 1}`;
      if (eventType === 'smtp') {
        const c = criteriaOf(match, false, notCompared);
        if (c.skipped.length > 0) {
          skippedCounts.push(`${at} (${c.skipped.join(', ')})`);
          return;
        }
        const count = events.filter((e) => matches(e, c)).length;
        const unfoldedAgree =
          count !== expected &&
          hasReceived(c) &&
          events.filter((e) => matches(e, criteriaOf(match, false, notCompared, true), true)).length ===
            expected;
        const agree = count === expected || unfoldedAgree;
        const ruled = !agree && blocked && count > expected;
        const cut = longNames && c.wanted.some(([k]) => k.startsWith('email.attachment['));
        findings.push({
          ...finding(capture, 'suricata', `${at}.count`, '', ''),
          ours: `${count} × ${c.label}`,
          theirs: `${expected} × ${c.label}`,
          agree: agree || ruled,
          ...(ruled
            ? { rule: SURICATA_RULES.firewallBlocked }
            : unfoldedAgree
              ? { rule: SURICATA_RULES.receivedUnfold }
              : cut && agree
                ? { rule: SURICATA_RULES.filenameCut }
                : {}),
        });
        return;
      }
      // Other event types (no event_type, alert, fileinfo, ...) carry the fields of the smtp transaction they
      // belong to: some smtpscope transaction must have them. A count of 0 says nothing about the transaction
      // (a rule that did not fire), so only filters expecting events are compared.
      if (expected === 0) return;
      const c = criteriaOf(match, true, notCompared);
      if (c.wanted.length + c.present.length + c.absent.length === 0) return;
      const strict = events.some((e) => matches(e, c));
      const unfolded =
        !strict &&
        hasReceived(c) &&
        events.some((e) => matches(e, criteriaOf(match, true, notCompared, true), true));
      const some = strict || unfolded;
      const cut = longNames && c.wanted.some(([k]) => k.startsWith('email.attachment['));
      findings.push({
        ...finding(
          capture,
          'suricata',
          `${at}.${String(eventType ?? 'event')}`,
          `${some ? 'present' : 'absent'} ${c.label}`,
          `present ${c.label}`,
        ),
        ...(unfolded
          ? { rule: SURICATA_RULES.receivedUnfold }
          : some && cut
            ? { rule: SURICATA_RULES.filenameCut }
            : {}),
      });
    });
    if (evidence.length > 0)
      findings.push(
        finding(
          capture,
          'suricata',
          `${test.name}.smtp-flow`,
          sawSmtp ? 'present' : 'absent',
          'present',
          sawSmtp ? {} : { lostSession: true },
        ),
      );
  }
  return { findings, notCompared, skippedCounts };
}
