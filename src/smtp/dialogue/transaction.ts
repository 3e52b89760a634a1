/**
 * The one transaction tracker of an SMTP dialogue (RFC 5321 3.3, RFC 3030, RFC 2033): whether a transaction is
 * open and its id, its recipients (sent and accepted, for LMTP's one reply per accepted recipient), the message
 * being sent (DATA body or BDAT chunks), and what a refused HELO/EHLO must restore. MAIL, SEND, SOML and SAML
 * open a transaction alike. The decoder updates it optimistically on each command and corrects it on replies;
 * events carry its ids (`SmtpCommand.transaction`, `.recipient`) so that the model follows instead of guessing.
 */

import type { TransactionOpening } from '../types.js';

/** A message being sent: a DATA body or a run of BDAT chunks. */
export class MessageInFlight {
  damaged = false;
  /** A DATA body went on after a capture gap: the final dot may have been lost with it. */
  afterGap = false;
  /** BDAT: octets of all chunks so far. */
  bdatSize = 0;
  constructor(
    readonly mode: 'DATA' | 'BDAT',
    /** The transaction it belongs to (null when its start was not captured). */
    readonly transaction: number | null,
  ) {}
}

/** The BDAT chunk whose octets are being read. */
export class BdatChunk {
  remaining: number;
  /** A non-2xx reply came before its octets ended: the message ends with them, failed (RFC 3030 3). */
  refused = false;
  constructor(
    readonly size: number,
    readonly last: boolean,
  ) {
    this.remaining = size;
  }
}

interface Snapshot {
  readonly open: boolean;
  readonly id: number;
  readonly rcpts: number;
  readonly unknown: boolean;
}

/** No accepted recipients: one frozen array shared by every connection. */
const NO_RECIPIENTS: readonly number[] = Object.freeze([]);

export class TransactionTracker {
  /** A transaction is open (MAIL sent and not refused, no end of data, RSET or accepted HELO since). */
  open = false;
  /** Id of the latest transaction (0: none yet); ids count up from 1 in the order MAILs opened them. */
  id = 0;
  /** Changes at each MAIL: a late refusal of an older MAIL is ignored. */
  generation = 0;
  /** RCPT commands sent in the open transaction. */
  rcpts = 0;
  tooMany = false;
  /** After a gap or a midstream start the envelope so far is unknown: no envelope-order anomalies. */
  unknown: boolean;
  /** RCPT indexes accepted so far (see `accepted`); null until the first, so most transactions make one array. */
  private acceptedList: number[] | null = null;
  message: MessageInFlight | null = null;
  /** A BDAT message awaits more chunks (no LAST yet). */
  bdatOpen = false;
  chunk: BdatChunk | null = null;
  /**
   * Commands of a transaction whose MAIL was not seen (after a gap or a midstream start, or DATA/BDAT sent with
   * no MAIL) share this id until MAIL, RSET, HELO or the end of data.
   */
  private implicit = false;
  /** Set by `place` for the latest MAIL: it came inside an open transaction. */
  nested = false;
  /** Set by `place` for the latest RCPT: its 0-based index. */
  recipient: number | null = null;
  /** Set by `place`: the command opened its transaction, and how (`SmtpCommand.opens`). */
  opened: TransactionOpening | null = null;
  /** HELO/EHLO/LHLO sent and not answered: the state it reset, restored if it is refused (RFC 5321 4.1.4). */
  private beforeHelo: Snapshot | null = null;

  constructor(startUnknown: boolean) {
    this.unknown = startUnknown;
  }

  /**
   * RCPT indexes accepted (2xx) in the latest transaction: LMTP sends one final reply per entry. An array handed
   * out here is never emptied: `clearAccepted` starts a new one.
   */
  get accepted(): readonly number[] {
    return this.acceptedList ?? NO_RECIPIENTS;
  }

  /** A RCPT of the latest transaction was accepted. */
  accept(index: number): void {
    if (this.acceptedList === null) this.acceptedList = [index];
    else this.acceptedList.push(index);
  }

  /** A MAIL was answered: its transaction's recipients are accepted from none. */
  clearAccepted(): void {
    this.acceptedList = null;
  }

  /**
   * The transaction a command belongs to, opening one where the command does: MAIL outside a transaction, a
   * RCPT whose MAIL the capture may have missed, a message sent with no MAIL. Also sets `nested` and `recipient`.
   */
  place(verb: string, validBdat: boolean): number | null {
    this.recipient = null;
    this.opened = null;
    switch (verb) {
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        this.nested = this.open;
        if (this.open) return this.id;
        this.opened = 'mail';
        return this.begin();
      case 'RCPT':
        this.recipient = this.rcpts++;
        if (!this.open && !this.implicit && this.unknown) this.openImplicit();
        return this.current;
      case 'DATA':
        if (!this.open && !this.implicit) this.openImplicit();
        return this.current;
      case 'BDAT':
        if (this.open || this.implicit || this.message !== null)
          return this.message?.transaction ?? this.current;
        // No MAIL before it. With the envelope known, the server refuses it (RFC 3030 2: BDAT belongs to a mail
        // transaction; Postfix answers 503): its chunk is read as octets but opens no transaction, so the real
        // message after MAIL is the first one. A malformed BDAT opens none either.
        if (!validBdat || !this.unknown) return null;
        this.openImplicit();
        return this.current;
      case 'NOOP':
      case 'UNKNOWN':
        // Sent inside a transaction, they belong to it (and change nothing).
        return this.current;
      default:
        return null;
    }
  }

  private openImplicit(): void {
    this.opened = this.unknown ? 'lost-mail' : 'no-mail';
    this.id++;
    this.implicit = true;
  }

  /**
   * The transaction a message with no command before it belongs to (a 354 that answers no command, the final dot
   * of a body whose start a gap took): the open one, or one opened now whose start the capture lost.
   */
  forMessage(): number {
    if (this.open || this.implicit) return this.id;
    this.id++;
    this.implicit = true;
    return this.id;
  }

  /** MAIL (or SEND/SOML/SAML) outside a transaction: opens the next one. */
  begin(): number {
    this.implicit = false;
    this.open = true;
    this.unknown = false;
    this.generation++;
    this.id++;
    this.rcpts = 0;
    this.tooMany = false;
    return this.id;
  }

  /** The open transaction's id, or null. */
  get current(): number | null {
    return this.open || this.implicit ? this.id : null;
  }

  /** RSET, end of data, a refused MAIL. */
  close(): void {
    this.open = false;
    this.implicit = false;
  }

  /** RSET: no transaction, and the envelope is known again. */
  reset(): void {
    this.open = false;
    this.implicit = false;
    this.unknown = false;
    this.rcpts = 0;
  }

  /** HELO/EHLO/LHLO sent: reset now (pipelined commands after it belong to no transaction), remember what was. */
  helloSent(): void {
    this.beforeHelo = { open: this.open, id: this.id, rcpts: this.rcpts, unknown: this.unknown };
    this.reset();
  }

  /** Its reply: an accepted greeting command keeps the reset; a refused one restores the transaction. */
  helloAnswered(accepted: boolean): boolean {
    const before = this.beforeHelo;
    this.beforeHelo = null;
    if (accepted || before === null || !before.open || this.id !== before.id || this.open) return false;
    this.open = true;
    this.rcpts = before.rcpts;
    this.unknown = before.unknown;
    return true;
  }

  /** ATRN/TURN swapped the roles: the new client starts with no transaction. */
  swap(): void {
    this.open = false;
    this.implicit = false;
    this.rcpts = 0;
    this.acceptedList = null;
    this.beforeHelo = null;
  }

  /** A gap: what a refused HELO would restore is lost. */
  forget(): void {
    this.beforeHelo = null;
  }
}
