/**
 * The SMTP decoder's handler calls as `SmtpEvent` records, and back: `eventRecorder` is a handler that turns each
 * call into the record of its kind (so tests compare event lists), `applyEvent` makes the call a record stands for
 * (so hand-written events drive a session builder or any other handler).
 */

import type { SmtpEvent, SmtpHandler, SmtpReply } from '../../src/smtp/types.js';

/** A reply as a record keeps it: the decoder's reply object is filled again for the next reply. */
function copied(reply: SmtpReply): SmtpReply {
  return {
    code: reply.code,
    enhancedStatus: reply.enhancedStatus,
    lines: reply.lines.slice(),
    offset: reply.offset,
    tsMicros: reply.tsMicros,
    endTsMicros: reply.endTsMicros,
    encrypted: reply.encrypted,
  };
}

/**
 * A handler that passes each call on as its `SmtpEvent` record (message bytes as given: valid during the call;
 * replies copied, since the decoder reuses its reply object).
 */
export function eventRecorder(push: (event: SmtpEvent) => void): SmtpHandler {
  return {
    command: (command) => push({ type: 'command', command }),
    greeting: (reply) => push({ type: 'reply', reply: copied(reply), to: { kind: 'greeting' } }),
    reply: (reply, command) =>
      push({ type: 'reply', reply: copied(reply), to: { kind: 'command', command } }),
    endOfDataReply: (reply, mode, lmtpRecipient, transaction) =>
      push({
        type: 'reply',
        reply: copied(reply),
        to: { kind: 'end-of-data', mode, lmtpRecipient, transaction },
      }),
    unmatchedReply: (reply) => push({ type: 'reply', reply: copied(reply), to: { kind: 'unmatched' } }),
    state: (from, to, tsMicros) => push({ type: 'state', from, to, tsMicros }),
    messageStart: (mode, transaction, tsMicros) =>
      push({ type: 'message-start', mode, transaction, tsMicros }),
    messageBytes: (bytes) => push({ type: 'message-bytes', bytes }),
    messageEnd: (transaction, sizeBytes, complete, awaitsReply, tsMicros) =>
      push({ type: 'message-end', transaction, sizeBytes, complete, awaitsReply, tsMicros }),
    bdatChunk: (transaction, sizeBytes, last, tsMicros) =>
      push({ type: 'bdat-chunk', transaction, sizeBytes, last, tsMicros }),
    tlsStart: (mode, tsMicros) => push({ type: 'tls-start', mode, tsMicros }),
    tlsHello: (hello, tsMicros) => push({ type: 'tls-hello', hello, tsMicros }),
    tlsBytes: (direction, length) => push({ type: 'tls-bytes', direction, length }),
    auth: (mechanism, username, secret, outcome, tsMicros) =>
      push({ type: 'auth', mechanism, username, secret, outcome, tsMicros }),
    rolesSwapped: (tsMicros) => push({ type: 'roles-swapped', tsMicros }),
    proxy: (protocol, target, accepted, tsMicros) =>
      push({ type: 'proxy', protocol, target, accepted, tsMicros }),
    tlsDecryption: (status, tsMicros) => push({ type: 'tls-decryption', status, tsMicros }),
    gap: (direction, length, tsMicros) => push({ type: 'gap', direction, length, tsMicros }),
    anomaly: (code, direction, detail, offset, tsMicros, skipped) =>
      push({ type: 'anomaly', code, direction, detail, offset, tsMicros, skipped }),
    closed: (reason, tsMicros, stats) => push({ type: 'closed', reason, tsMicros, stats }),
  };
}

/** A handler that keeps every call's record in `events` (message bytes copied, since their views do not last). */
export function eventList(events: SmtpEvent[]): SmtpHandler {
  return eventRecorder((event) =>
    events.push(
      event.type === 'message-bytes' ? { type: 'message-bytes', bytes: event.bytes.slice() } : event,
    ),
  );
}

/** Makes the handler call that `event` records. */
export function applyEvent(handler: SmtpHandler, event: SmtpEvent): void {
  switch (event.type) {
    case 'command':
      handler.command(event.command);
      break;
    case 'reply': {
      const to = event.to;
      if (to.kind === 'greeting') handler.greeting(event.reply);
      else if (to.kind === 'command') handler.reply(event.reply, to.command);
      else if (to.kind === 'end-of-data')
        handler.endOfDataReply(event.reply, to.mode, to.lmtpRecipient, to.transaction);
      else handler.unmatchedReply(event.reply);
      break;
    }
    case 'state':
      handler.state(event.from, event.to, event.tsMicros);
      break;
    case 'message-start':
      handler.messageStart(event.mode, event.transaction, event.tsMicros);
      break;
    case 'message-bytes':
      handler.messageBytes(event.bytes);
      break;
    case 'message-end':
      handler.messageEnd(
        event.transaction,
        event.sizeBytes,
        event.complete,
        event.awaitsReply,
        event.tsMicros,
      );
      break;
    case 'bdat-chunk':
      handler.bdatChunk(event.transaction, event.sizeBytes, event.last, event.tsMicros);
      break;
    case 'tls-start':
      handler.tlsStart(event.mode, event.tsMicros);
      break;
    case 'tls-hello':
      handler.tlsHello(event.hello, event.tsMicros);
      break;
    case 'tls-bytes':
      handler.tlsBytes(event.direction, event.length);
      break;
    case 'auth':
      handler.auth(event.mechanism, event.username, event.secret, event.outcome, event.tsMicros);
      break;
    case 'roles-swapped':
      handler.rolesSwapped(event.tsMicros);
      break;
    case 'proxy':
      handler.proxy(event.protocol, event.target, event.accepted, event.tsMicros);
      break;
    case 'tls-decryption':
      handler.tlsDecryption(event.status, event.tsMicros);
      break;
    case 'gap':
      handler.gap(event.direction, event.length, event.tsMicros);
      break;
    case 'anomaly':
      handler.anomaly(event.code, event.direction, event.detail, event.offset, event.tsMicros, event.skipped);
      break;
    case 'closed':
      handler.closed(event.reason, event.tsMicros, event.stats);
      break;
  }
}

/** Makes the calls of every record in order. */
export function applyEvents(handler: SmtpHandler, events: Iterable<SmtpEvent>): void {
  for (const event of events) applyEvent(handler, event);
}
