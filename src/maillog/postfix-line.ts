/**
 * One Postfix log line (after its syslog prefix) as a {@link LogEvent}: smtpd connections, client and reject
 * lines, cleanup's message-id, qmgr's queue entry, expiry and removal, the delivery agents' per-recipient
 * status lines (smtp, lmtp, local, virtual, pipe, discard, error, retry...) and bounce's notifications.
 * docs/MAILLOG.md lists the shapes. A line of a Postfix program that matches none of them is `ignored`; a
 * status line whose fields do not parse is null (a bad line).
 */

import type { LineOrigin, LogClient, LogEvent, LogReject } from './types.js';

/** Short ids are upper-case hex; long ids (`enable_long_queue_ids`) mix cases and always hold a digit. */
const QUEUE_ID = String.raw`(?:[0-9A-F]{6,12}|(?=[0-9A-Za-z]{0,19}\d)[0-9A-Za-z]{10,20})`;
const CLIENT = String.raw`([^\s[\]]*)\[([^\]\s]*)\](?::(\d{1,5}))?`;

const CONNECT = new RegExp(`^(connect|disconnect) from ${CLIENT}`);
const CLIENT_LINE = new RegExp(`^(${QUEUE_ID}): client=${CLIENT}`);
const REJECT = new RegExp(
  `^(${QUEUE_ID}|NOQUEUE): (reject|milter-reject|reject_warning|discard|hold): (.*)$`,
);
const MESSAGE_ID = new RegExp(String.raw`^(${QUEUE_ID}): (?:resent-)?message-id=<?([^<>]*)>?\s*$`);
const QUEUED = new RegExp(String.raw`^(${QUEUE_ID}): from=<([^>]*)>, size=(\d+), nrcpt=(\d+)`);
const EXPIRED = new RegExp(`^(${QUEUE_ID}): from=<[^>]*>,.*status=expired`);
const DELIVERY = new RegExp(`^(${QUEUE_ID}): to=<([^>]*)>, (.*)$`);
const NOTIFICATION = new RegExp(
  String.raw`^(${QUEUE_ID}): (?:sender|postmaster) (.+?) notification: (${QUEUE_ID})\s*$`,
);
const REMOVED = new RegExp(String.raw`^(${QUEUE_ID}): removed\s*$`);
const ANY_ID = new RegExp(`^(${QUEUE_ID}): `);

/** `from NAME[ADDR]:PORT` inside a reject line. */
const REJECT_FROM = new RegExp(String.raw`\bfrom ${CLIENT}`);
/** `CODE ENH text` of a reject. */
const REPLY = /^(\d{3})(?:[ -]((?:[245])\.\d{1,3}\.\d{1,3}))?\s*(.*)$/s;

function client(name: string | undefined, address: string | undefined, port: string | undefined): LogClient {
  return {
    name: name === undefined || name === '' ? null : name,
    address: address ?? '',
    port: port === undefined ? null : Number(port),
  };
}

/** `key=<value>` or `key=value` of the envelope part of a reject line. */
function envelopeField(text: string, key: string): string | null {
  const m = new RegExp(String.raw`(?:^|[;\s])${key}=<([^>]*)>`).exec(text);
  return m === null ? null : (m[1] ?? null);
}

/**
 * A reject line's body: `STAGE from CLIENT: CODE ENH text; from=<> to=<> proto=... helo=<...>` (smtpd), or
 * cleanup's `header NAME: value from CLIENT; from=<> to=<> proto=... helo=<...>: ENH text`.
 */
function parseReject(origin: LineOrigin, queueId: string | null, action: string, body: string): LogReject {
  const stage = /^(\S+)/.exec(body)?.[1] ?? '';
  const from = REJECT_FROM.exec(body);
  const c = from === null ? null : client(from[1], from[2], from[3]);
  let code: number | null = null;
  let enhanced: string | null = null;
  let text = body;
  if (from !== null) {
    const afterClient = body.slice((from.index ?? 0) + from[0].length);
    if (afterClient.startsWith(': ')) {
      // smtpd: the reply, then `; from=...` with the envelope.
      const semi = /; (?:from|to|proto|helo)=/.exec(afterClient)?.index ?? -1;
      const reply = afterClient.slice(2, semi < 0 ? undefined : semi);
      const r = REPLY.exec(reply);
      if (r !== null) {
        code = Number(r[1]);
        enhanced = r[2] ?? null;
        text = r[3] ?? '';
      } else text = reply;
    } else {
      // cleanup: the envelope, then `: ENH text` at the end.
      const tail = /: ((?:[245])\.\d{1,3}\.\d{1,3}) (.*)$/.exec(afterClient);
      if (tail !== null) {
        enhanced = tail[1] ?? null;
        text = tail[2] ?? '';
        code =
          enhanced === null ? null : enhanced.startsWith('5') ? 550 : enhanced.startsWith('4') ? 450 : null;
      }
    }
  }
  return {
    origin,
    queueId,
    action,
    stage,
    client: c,
    code,
    enhancedStatus: enhanced,
    text,
    from: envelopeField(body, 'from'),
    to: envelopeField(body, 'to'),
  };
}

/** `relay=..., delay=..., delays=..., dsn=..., status=word (text)` after `to=<...>, `. */
function parseDeliveryFields(rest: string) {
  const status = /(?:^|, )status=([A-Za-z-]+)(?: \((.*)\))?\s*$/s.exec(rest);
  if (status === null) return null;
  const head = rest.slice(0, status.index);
  const field = (key: string) => new RegExp(`(?:^|, )${key}=([^,]*)`).exec(head)?.[1] ?? null;
  const origTo = /(?:^|, )orig_to=<([^>]*)>/.exec(head)?.[1] ?? null;
  const delay = field('delay');
  return {
    origTo,
    relay: field('relay'),
    delaySeconds: delay === null || !/^\d+(?:\.\d+)?$/.test(delay) ? null : Number(delay),
    dsn: field('dsn'),
    status: (status[1] ?? '').toLowerCase(),
    reply: status[2] ?? null,
  };
}

/** The event of a Postfix line's text (after `postfix/SERVICE[pid]: `); null when a status line does not parse. */
export function parsePostfixText(origin: LineOrigin, text: string): LogEvent | null {
  let m = CONNECT.exec(text);
  if (m !== null)
    return { kind: m[1] === 'connect' ? 'connect' : 'disconnect', origin, client: client(m[2], m[3], m[4]) };
  m = CLIENT_LINE.exec(text);
  if (m !== null) return { kind: 'client', origin, queueId: m[1] ?? '', client: client(m[2], m[3], m[4]) };
  m = REJECT.exec(text);
  if (m !== null) {
    const queueId = m[1] === 'NOQUEUE' ? null : (m[1] ?? null);
    return { kind: 'reject', origin, reject: parseReject(origin, queueId, m[2] ?? '', m[3] ?? '') };
  }
  m = MESSAGE_ID.exec(text);
  if (m !== null) return { kind: 'message-id', origin, queueId: m[1] ?? '', messageId: m[2] ?? '' };
  m = EXPIRED.exec(text);
  if (m !== null) return { kind: 'expired', origin, queueId: m[1] ?? '' };
  m = QUEUED.exec(text);
  if (m !== null)
    return {
      kind: 'queued',
      origin,
      queueId: m[1] ?? '',
      from: m[2] ?? '',
      size: Number(m[3]),
      nrcpt: Number(m[4]),
      client: null,
      messageId: null,
      bounceOf: null,
    };
  m = DELIVERY.exec(text);
  if (m !== null) {
    const fields = parseDeliveryFields(m[3] ?? '');
    if (fields === null) return null;
    return {
      kind: 'delivery',
      origin,
      delivery: { origin, queueId: m[1] ?? '', to: m[2] ?? '', transport: origin.service, ...fields },
    };
  }
  m = NOTIFICATION.exec(text);
  if (m !== null)
    return {
      kind: 'notification',
      origin,
      queueId: m[1] ?? '',
      notification: m[2] ?? '',
      notificationQueueId: m[3] ?? '',
    };
  m = REMOVED.exec(text);
  if (m !== null) return { kind: 'removed', origin, queueId: m[1] ?? '' };
  return { kind: 'ignored', origin, queueId: ANY_ID.exec(text)?.[1] ?? null };
}

/**
 * Splits a syslog program into Postfix's instance and service: `postfix/smtpd` → postfix + smtpd,
 * `postfix-relay/smtp` → postfix-relay + smtp, `postfix/submission/smtpd` → postfix/submission + smtpd;
 * null for a program that is not Postfix's.
 */
export function postfixProgram(program: string): { instance: string; service: string } | null {
  const slash = program.lastIndexOf('/');
  if (slash <= 0 || !program.slice(0, slash).toLowerCase().includes('postfix')) return null;
  return { instance: program.slice(0, slash), service: program.slice(slash + 1) };
}
