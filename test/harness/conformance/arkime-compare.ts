/**
 * smtpscope against Arkime's expected sessions (`sessions3[].body`). Only sessions Arkime tagged with the smtp
 * protocol are compared; each is matched to the smtpscope session with the same client and server endpoint.
 * Mapping (Arkime's SMTP parser, capture/parsers/smtp.c: which command or header feeds which field):
 * email.src ↔ set of MAIL FROM addresses and From: header addresses; email.dst ↔ set of RCPT TO addresses and
 * To:/Cc: header addresses (both lower-cased, the address inside angle brackets); email.subject ↔ set of decoded
 * subjects; email.smtpHello ↔ session.helo; user ↔ AUTH user names; tag `smtp:statuscode:NNN` ↔ the codes of the
 * final replies to message bodies; tag `smtp:starttls` ↔ STARTTLS accepted; tag `smtp:authMECH` ↔ AUTH
 * mechanisms (lower-cased). Rules, each a behaviour of that parser:
 * - `arkime-empty-record`: a record with no packets that names a root session (`rootId`) is a second record
 *   Arkime writes for a connection it already has; it is not a session.
 * - `arkime-statuscode-data`: Arkime tags the status code of the server line after the final dot of a DATA body
 *   only; a BDAT message's final reply gets no tag.
 * - `arkime-subject-space`: Arkime skips exactly one character after `Subject:` (the space), so further leading
 *   white space stays in its subject; smtpscope's decoded subject has none.
 */

import type { SmtpSession } from '../../../src/model/types.js';
import { bareAddress, type Finding, finding, setValue } from './finding.js';
import { hasDialogue } from './session-views.js';

interface ArkimeSession {
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
  readonly email: Readonly<Record<string, unknown>>;
  readonly tags: readonly string[];
  readonly user: readonly string[];
  /** Packets of the record (`packetPos` entries), and whether it names a root session (`rootId`). */
  readonly packets: number;
  readonly linked: boolean;
}

export const ARKIME_RULES = {
  emptyRecord: 'arkime-empty-record',
  statuscodeData: 'arkime-statuscode-data',
  subjectSpace: 'arkime-subject-space',
} as const;

/** A finding that agrees through `rule` when the values as the rule reads them are equal. */
function byRule(f: Finding, rule: string, oursByRule: string, theirsByRule: string): Finding {
  return f.agree || oursByRule !== theirsByRule ? f : { ...f, agree: true, rule };
}

const lowerAddresses = (values: readonly string[]): string[] =>
  values.map((v) => bareAddress(v).toLowerCase());

/** A record Arkime writes for a connection it already recorded: no packets, linked to a root session. */
const isEmptyRecord = (a: ArkimeSession): boolean => a.packets === 0 && a.linked;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The sessions of an Arkime `.test` file that Arkime classified as SMTP. */
export function parseArkimeTest(text: string): ArkimeSession[] {
  const doc = record(JSON.parse(text) as unknown);
  const out: ArkimeSession[] = [];
  for (const entry of Array.isArray(doc['sessions3']) ? doc['sessions3'] : []) {
    const body = record(record(entry)['body']);
    if (!strings(body['protocol']).includes('smtp')) continue;
    const source = record(body['source']);
    const destination = record(body['destination']);
    out.push({
      srcIp: String(source['ip'] ?? ''),
      srcPort: Number(source['port'] ?? 0),
      dstIp: String(destination['ip'] ?? ''),
      dstPort: Number(destination['port'] ?? 0),
      email: record(body['email']),
      tags: strings(body['tags']),
      user: strings(body['user']),
      packets: Array.isArray(body['packetPos']) ? body['packetPos'].length : 0,
      linked: typeof body['rootId'] === 'string' && body['rootId'] !== '',
    });
  }
  return out;
}

export function compareArkime(
  capture: string,
  expected: readonly ArkimeSession[],
  sessions: readonly SmtpSession[],
): Finding[] {
  const out: Finding[] = [];
  const used = new Set<SmtpSession>();
  expected.forEach((a, i) => {
    const at = `${a.srcPort}>${a.dstPort}#${i + 1}`;
    if (isEmptyRecord(a)) {
      out.push({ ...finding(capture, 'arkime', `${at}.record`, '-', '-'), rule: ARKIME_RULES.emptyRecord });
      return;
    }
    const candidates = sessions.filter(
      (s) =>
        s.client.ip === a.srcIp &&
        s.client.port === a.srcPort &&
        s.server.ip === a.dstIp &&
        s.server.port === a.dstPort,
    );
    const session = candidates.find((s) => !used.has(s)) ?? candidates[0];
    if (session === undefined) {
      out.push(finding(capture, 'arkime', `${at}.session`, 'absent', 'present', { lostSession: true }));
      return;
    }
    used.add(session);
    const tx = session.transactions;
    out.push(
      finding(
        capture,
        'arkime',
        `${at}.src`,
        setValue([
          ...tx.flatMap((t) => (t.mailFrom === null || t.mailFrom === '' ? [] : [t.mailFrom.toLowerCase()])),
          ...tx.flatMap((t) => lowerAddresses(t.message?.fromAll ?? [])),
        ]),
        setValue(strings(a.email['src']).map((s) => s.toLowerCase())),
      ),
    );
    out.push(
      finding(
        capture,
        'arkime',
        `${at}.dst`,
        setValue([
          ...tx.flatMap((t) => t.recipients.map((r) => r.address.toLowerCase())),
          ...tx.flatMap((t) => lowerAddresses([...(t.message?.to ?? []), ...(t.message?.cc ?? [])])),
        ]),
        setValue(strings(a.email['dst']).map((s) => s.toLowerCase())),
      ),
    );
    const subjectsOurs = tx.flatMap((t) => (t.message?.subject == null ? [] : [t.message.subject]));
    const subjectsTheirs = strings(a.email['subject']);
    out.push(
      byRule(
        finding(capture, 'arkime', `${at}.subject`, setValue(subjectsOurs), setValue(subjectsTheirs)),
        ARKIME_RULES.subjectSpace,
        setValue(subjectsOurs.map((s) => s.trimStart())),
        setValue(subjectsTheirs.map((s) => s.trimStart())),
      ),
    );
    out.push(
      finding(
        capture,
        'arkime',
        `${at}.smtpHello`,
        setValue(session.helo === null || session.helo === '' ? [] : [session.helo.toLowerCase()]),
        setValue(strings(a.email['smtpHello']).map((s) => s.toLowerCase())),
      ),
    );
    out.push(
      finding(
        capture,
        'arkime',
        `${at}.user`,
        setValue(session.auth.flatMap((x) => (x.username === null ? [] : [x.username]))),
        setValue(a.user),
      ),
    );
    const finalCodes = (mode: 'DATA' | 'BDAT' | null) =>
      tx.flatMap((t) =>
        t.mode !== null && (mode === null || t.mode === mode) && t.finalReply !== null
          ? [String(t.finalReply.code)]
          : [],
      );
    const statusTheirs = setValue(
      a.tags.filter((t) => t.startsWith('smtp:statuscode:')).map((t) => t.slice('smtp:statuscode:'.length)),
    );
    out.push(
      byRule(
        finding(capture, 'arkime', `${at}.statuscode`, setValue(finalCodes(null)), statusTheirs),
        ARKIME_RULES.statuscodeData,
        setValue(finalCodes('DATA')),
        statusTheirs,
      ),
    );
    out.push(
      finding(
        capture,
        'arkime',
        `${at}.starttls`,
        String(session.tls.mode === 'starttls'),
        String(a.tags.includes('smtp:starttls')),
      ),
    );
    const authOurs = session.auth.map((x) => `smtp:auth${x.mechanism.toLowerCase()}`);
    const authTheirs = a.tags.filter((t) => t.startsWith('smtp:auth'));
    out.push(finding(capture, 'arkime', `${at}.auth`, setValue(authOurs), setValue(authTheirs)));
  });
  const extra = sessions.filter((s) => hasDialogue(s) && !used.has(s));
  const records = expected.filter((a) => !isEmptyRecord(a)).length;
  out.push(finding(capture, 'arkime', 'sessions', String(used.size + extra.length), String(records)));
  return out;
}
