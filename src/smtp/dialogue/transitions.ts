/**
 * The transitions table: for each verb, what its command does to the dialogue when sent (`onCommand`) and what
 * its reply does when it arrives (`onReply`), after Zeek's `switch (cmd) { case ...: switch (reply) ... }`. Each
 * entry reads and sets the dialogue's mode (docs/SMTP.md, "Transitions"); the driver only routes bytes by it.
 */

import { parseBdatArgument } from '../command-parser.js';
import type { SmtpCommand, SmtpReply, SmtpVerb } from '../types.js';
import { finishAuth, startAuth } from './auth-steps.js';
import { resolveBarrier } from './barriers.js';
import type { SmtpDialogue } from './dialogue.js';
import { offersPipelining } from './lines.js';
import { bdatRefused, startBdatChunk } from './messages.js';
import type { PendingEntry } from './pending-queue.js';

export interface Transition {
  /** The command was sent (already emitted); queue what awaits its reply, update the state optimistically. */
  onCommand(d: SmtpDialogue, command: SmtpCommand, ts: number): void;
  /** Its reply arrived (already emitted); correct the state. */
  onReply(d: SmtpDialogue, entry: PendingEntry, reply: SmtpReply, ts: number): void;
}

const positive = (code: number): boolean => code >= 200 && code < 300;

/** Queued, answered in order, nothing else changes. */
const PLAIN: Transition = {
  onCommand(d, command, ts) {
    d.queueCommand(command, false, ts);
    if (d.state === 'gap-recovery' || d.state === 'connected') d.setState('ready', ts);
  },
  onReply() {},
};

const HELLO: Transition = {
  onCommand(d, command, ts) {
    if (command.verb === 'LHLO') d.lmtp = true;
    d.tx.helloSent();
    d.queueCommand(command, false, ts);
    d.setState('ready', ts);
  },
  onReply(d, _entry, reply, ts) {
    const accepted = positive(reply.code);
    // RFC 5321 4.1.4: only an accepted HELO/EHLO resets the transaction; a refused one leaves it open.
    if (d.tx.helloAnswered(accepted)) d.setState(d.tx.rcpts > 0 ? 'rcpt' : 'mail', ts);
    if (!accepted) return;
    d.heloAccepted = true;
    d.pipelining = offersPipelining(reply.lines);
  },
};

const HELO: Transition = {
  onCommand: HELLO.onCommand,
  onReply(d, entry, reply, ts) {
    HELLO.onReply(d, entry, reply, ts);
    if (positive(reply.code)) d.pipelining = false;
  },
};

const RSET: Transition = {
  onCommand(d, command, ts) {
    d.tx.reset();
    d.queueCommand(command, false, ts);
    d.setState('ready', ts);
  },
  onReply() {},
};

/** MAIL, SEND, SOML, SAML: each opens a transaction (RFC 821 3.4). */
const MAIL: Transition = {
  onCommand(d, command, ts) {
    if (d.tx.nested) {
      // Nested MAIL: the server refuses it (503) and the open transaction goes on.
      d.queueCommand(command, false, ts, -1);
      return;
    }
    d.queueCommand(command, false, ts);
    d.setState('mail', ts);
  },
  onReply(d, entry, reply, ts) {
    if (entry.generation !== d.tx.generation) return;
    d.tx.clearAccepted();
    if (!positive(reply.code)) {
      d.tx.close();
      if (d.state === 'mail' || d.state === 'rcpt') d.setState('ready', ts);
    }
  },
};

const RCPT: Transition = {
  onCommand(d, command, ts) {
    d.queueCommand(command, false, ts);
    d.setState('rcpt', ts);
  },
  onReply(d, entry, reply) {
    const index = entry.command?.recipient;
    if (positive(reply.code) && entry.generation === d.tx.generation && index !== undefined && index !== null)
      d.tx.accept(index);
  },
};

const DATA: Transition = {
  onCommand(d, command, ts) {
    d.queueCommand(command, true, ts);
  },
  onReply(d, entry, reply, ts) {
    if (reply.code !== 354) {
      d.anomaly('data-rejected', d.replyDir, `DATA answered ${reply.code}`, reply.offset, ts);
      if (d.state === 'mail' || d.state === 'rcpt') d.setState('ready', ts);
    }
    resolveBarrier(d, entry, reply, ts);
  },
};

const STARTTLS: Transition = {
  onCommand(d, command, ts) {
    d.queueCommand(command, true, ts);
  },
  onReply(d, entry, reply, ts) {
    if (reply.code !== 220)
      d.anomaly('tls-rejected', d.replyDir, `STARTTLS answered ${reply.code}`, reply.offset, ts);
    else d.pauseReplies();
    resolveBarrier(d, entry, reply, ts);
  },
};

const AUTH: Transition = {
  onCommand(d, command, ts) {
    startAuth(d, command, ts);
  },
  onReply(d, entry, reply, ts) {
    const code = reply.code;
    if (d.auth !== null && code !== 334)
      finishAuth(d, positive(code) ? 'success' : code >= 400 ? 'failure' : 'unknown', ts);
    if (entry.barrier) resolveBarrier(d, entry, reply, ts);
  },
};

const BDAT: Transition = {
  onCommand(d, command, ts) {
    const arg = parseBdatArgument(command.argument);
    if (!arg.ok) {
      d.anomaly('bdat-bad-argument', d.cmdDir, arg.reason, command.offset, ts);
      d.queueCommand(command, false, ts);
      return;
    }
    startBdatChunk(d, command, arg.size, arg.last, ts);
  },
  onReply(d, entry, reply, ts) {
    // RFC 3030 3: a refused chunk fails the transaction; its octets (if still coming) are skipped.
    if (!positive(reply.code)) bdatRefused(d, entry, ts);
  },
};

const QUIT: Transition = {
  onCommand(d, command, ts) {
    d.quitSent = true;
    d.queueCommand(command, false, ts);
    d.setState('quit', ts);
  },
  onReply(d, _entry, reply) {
    if (reply.code === 221) d.quitAnswered = true;
  },
};

/** ATRN (RFC 2645) and TURN (RFC 821): a 250 swaps the roles. */
const TURN: Transition = {
  onCommand: PLAIN.onCommand,
  onReply(d, _entry, reply, ts) {
    if (reply.code === 250) d.swapRoles(ts);
  },
};

const XCLIENT: Transition = {
  onCommand: PLAIN.onCommand,
  onReply(d, _entry, reply) {
    // A 220 to XCLIENT is a new greeting for the client it names: the EHLO sent again is expected.
    if (reply.code === 220) {
      d.heloAccepted = false;
      d.pipelining = null;
    }
  },
};

export const TRANSITIONS: Readonly<Record<SmtpVerb, Transition>> = {
  ATRN: TURN,
  AUTH,
  BDAT,
  DATA,
  EHLO: HELLO,
  ETRN: PLAIN,
  EXPN: PLAIN,
  HELO,
  HELP: PLAIN,
  LHLO: HELLO,
  MAIL,
  NOOP: PLAIN,
  QUIT,
  RCPT,
  RSET,
  SAML: MAIL,
  SEND: MAIL,
  SOML: MAIL,
  STARTTLS,
  TURN,
  VRFY: PLAIN,
  XCLIENT,
  XFORWARD: PLAIN,
  'X-EXPS': PLAIN,
  'X-LINK2STATE': PLAIN,
  XEXCH50: PLAIN,
  'X-ANONYMOUSTLS': PLAIN,
  UNKNOWN: PLAIN,
};
