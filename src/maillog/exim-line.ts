/**
 * One Exim main-log line (after its time stamp, or after `exim4[pid]: ` in syslog) as a {@link LogEvent}:
 * arrivals (`<=`), deliveries (`=>`, and `->` for further addresses of the same delivery), failures (`**`),
 * deferrals (`==`), suppressed deliveries (`*>`), `Completed`, the refusals Exim logs while receiving
 * (`rejected RCPT`, `rejected MAIL`, `rejected after DATA`...) and SMTP connection lines. docs/MAILLOG.md lists
 * the shapes. Other Exim lines are `ignored`; a flagged line whose fields do not parse is null (a bad line).
 */

import type { LineOrigin, LogClient, LogEvent } from './types.js';

/** Exim message ids: `1Mugho-0003Dg-Un` before 4.97, `1qxyZ5-00000000AbC-4cDe` since. */
const EXIM_ID = `[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}`;
const FLAGGED = new RegExp(String.raw`^(${EXIM_ID}) (<=|=>|->|\*\*|==|\*>) (.*)$`, 's');
const COMPLETED = new RegExp(String.raw`^(${EXIM_ID}) Completed\b`);
const WITH_ID = new RegExp(`^(${EXIM_ID}) (.*)$`, 's');
/** `[address]` or `[address]:port` after an optional host name and `(helo)`. */
const HOST_FIELD = /(?:^|\s)H=(?:(\S+) )?(?:\(([^)]*)\) )?\[([^\]\s]+)\](?::(\d{1,5}))?/;
const CONNECTION = /^SMTP connection from (?:(\S+) )?(?:\(([^)]*)\) )?\[([^\]\s]+)\](?::(\d{1,5}))?(.*)$/;
const REJECTED =
  /\brejected (RCPT|MAIL|after DATA|EHLO|HELO|connection|DATA|VRFY|EXPN|AUTH)\b ?<?([^>:]*)>?:? ?(.*)$/s;
const REPLY_IN_TEXT = /\b([245]\d{2})[ -]([245]\.\d{1,3}\.\d{1,3})?/;

export const EXIM_ID_PATTERN = new RegExp(`^${EXIM_ID}$`);

function hostClient(text: string): LogClient | null {
  const m = HOST_FIELD.exec(text);
  if (m === null) return null;
  return { name: m[1] ?? null, address: m[3] ?? '', port: m[4] === undefined ? null : Number(m[4]) };
}

/** `KEY=value` or `KEY="quoted value"` of an Exim line; the first occurrence. */
function field(text: string, key: string): string | null {
  const m = new RegExp(String.raw`(?:^|\s)${key}=(?:"((?:[^"\\]|\\.)*)"|(\S*))`).exec(text);
  if (m === null) return null;
  return m[1] ?? m[2] ?? null;
}

/** `DT=1s`, `DT=0.123s`, `DT=1m2s`: seconds. */
function deliveryTime(text: string): number | null {
  const dt = field(text, 'DT');
  if (dt === null) return null;
  let seconds = 0;
  let matched = false;
  for (const part of dt.matchAll(/(\d+(?:\.\d+)?)([dhms])/g)) {
    matched = true;
    seconds += Number(part[1]) * { d: 86_400, h: 3_600, m: 60, s: 1 }[part[2] as 'd' | 'h' | 'm' | 's'];
  }
  return matched ? seconds : null;
}

const STATUS: Readonly<Record<string, string>> = {
  '=>': 'sent',
  '->': 'sent',
  '**': 'bounced',
  '==': 'deferred',
  '*>': 'discarded',
};

function flaggedLine(origin: LineOrigin, id: string, flag: string, rest: string): LogEvent | null {
  if (flag === '<=') {
    const from = /^(<>|\S+)/.exec(rest)?.[1];
    if (from === undefined) return null;
    const size = field(rest, 'S');
    const msgId = field(rest, 'id');
    return {
      kind: 'queued',
      origin,
      queueId: id,
      from: from === '<>' ? '' : from,
      size: size !== null && /^\d+$/.test(size) ? Number(size) : null,
      nrcpt: null,
      client: hostClient(rest),
      messageId: msgId === null ? null : msgId.replace(/^<|>$/g, ''),
      bounceOf: from === '<>' ? field(rest, 'R') : null,
    };
  }
  // `address [<original>] [fields]`, or `address: reason` for failures that never reached a transport.
  const addr = /^(?::blackhole: )?<?([^\s<>:]+(?::[^\s<>:]+)?)>?(?: <([^>]*)>)?(:?)/.exec(rest);
  if (addr === null) return null;
  const to = (addr[1] ?? '').replace(/:$/, '');
  const afterAddr = rest.slice(addr[0].length);
  let reply: string | null = field(rest, 'C');
  if (flag === '**' || flag === '==') {
    // The reason follows the last `: ` after the host field, or the address itself.
    const colon = afterAddr.indexOf(': ');
    reply =
      colon >= 0 ? afterAddr.slice(colon + 2) : addr[3] === ':' ? afterAddr.trim() : afterAddr.trim() || null;
    // `+deliver_time` appends ` DT=1s` after the reason.
    if (reply !== null) reply = reply.replace(/\s+DT=\S+$/, '') || null;
  }
  const host = hostClient(rest);
  const status = rest.startsWith(':blackhole:') ? 'discarded' : (STATUS[flag] ?? 'unknown');
  const enhanced = reply === null ? null : (REPLY_IN_TEXT.exec(reply)?.[2] ?? null);
  return {
    kind: 'delivery',
    origin,
    delivery: {
      origin,
      queueId: id,
      to,
      origTo: addr[2] ?? null,
      status,
      dsn: enhanced ?? (status === 'sent' ? '2.0.0' : null),
      relay:
        host === null
          ? null
          : `${host.name ?? ''}[${host.address}]${host.port === null ? '' : `:${host.port}`}`,
      delaySeconds: deliveryTime(rest),
      reply,
      transport: field(rest, 'T'),
    },
  };
}

/** The event of an Exim line's text (after the stamp and optional `[pid]`); null when a flagged line does not parse. */
export function parseEximText(origin: LineOrigin, text: string): LogEvent | null {
  let m = FLAGGED.exec(text);
  if (m !== null) return flaggedLine(origin, m[1] ?? '', m[2] ?? '', m[3] ?? '');
  m = COMPLETED.exec(text);
  if (m !== null) return { kind: 'removed', origin, queueId: m[1] ?? '' };
  m = CONNECTION.exec(text);
  if (m !== null) {
    const c: LogClient = {
      name: m[1] ?? null,
      address: m[3] ?? '',
      port: m[4] === undefined ? null : Number(m[4]),
    };
    const closing = /\bclosed\b|\blost\b|\bdropped\b|\btimed out\b/.test(m[5] ?? '');
    return { kind: closing ? 'disconnect' : 'connect', origin, client: c };
  }
  const withId = WITH_ID.exec(text);
  const queueId = withId?.[1] ?? null;
  const body = withId?.[2] ?? text;
  const rejected = REJECTED.exec(body);
  if (rejected !== null) {
    const reasonText = rejected[3] ?? '';
    const r = REPLY_IN_TEXT.exec(reasonText);
    const stage = rejected[1] ?? '';
    const address = rejected[2] === undefined || rejected[2] === '' ? null : rejected[2];
    return {
      kind: 'reject',
      origin,
      reject: {
        origin,
        queueId,
        action: 'rejected',
        stage,
        client: hostClient(body),
        code: r === null ? null : Number(r[1]),
        enhancedStatus: r?.[2] ?? null,
        text: reasonText,
        from: stage === 'MAIL' ? address : (field(body, 'F')?.replace(/^<|>$/g, '') ?? null),
        to: stage === 'RCPT' ? address : null,
      },
    };
  }
  return { kind: 'ignored', origin, queueId };
}
