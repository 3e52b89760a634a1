/**
 * The pending-command queue of one SMTP dialogue: every command (or end of data) that awaits a reply, oldest
 * first. Pipelining (RFC 2920) puts several in it; each complete reply answers the head. Bounded by
 * `maxPendingCommands`: past it the queue is cleared and the caller flags `excessive-pending-commands`.
 *
 * Pairing by code (RFC 5321 4.3.2, RFC 4954): a reply whose code cannot answer the head but can answer a later
 * entry means the entries before it got no reply in the capture; `indexAnswering` finds that entry, and the
 * caller skips the others (`missing-reply`).
 */

import type { SmtpCommand } from '../types.js';

/**
 * One command, or one end of data, awaiting its reply. Fixed shape: every field is set by the constructor. An end
 * of data has no command, and its message's mode and transaction (which its reply names).
 */
export class PendingEntry {
  /** Resolved once its reply (or an optimistic decision) decided what the client bytes after it are. */
  resolved = false;
  /** LMTP end of data: the replies it expects, set at the first one (null before, and for every other entry). */
  lmtp: LmtpReplies | null = null;

  constructor(
    /** The command, or null for an end of data (DATA's final dot, BDAT LAST). */
    readonly command: SmtpCommand | null,
    /** DATA, STARTTLS, AUTH, AUTH response: what the client sends next depends on this reply. */
    readonly barrier: boolean,
    /** The transaction generation when it was sent; -1 for a nested MAIL (its refusal changes nothing). */
    readonly generation: number,
    /** An end of data: how the message was sent (DATA for a command entry, unused). */
    readonly mode: 'DATA' | 'BDAT',
    /** An end of data: the decoder's transaction whose message ended (null for a command entry). */
    readonly transaction: number | null,
  ) {}

  /** Words for anomaly texts: the verb, "an AUTH response" or "the end of data". */
  describe(): string {
    const command = this.command;
    if (command === null) return 'the end of data';
    return command.kind === 'auth-response' ? 'an AUTH response' : command.verb;
  }
}

/** An LMTP end of data (RFC 2033 4.2): one reply per accepted recipient, in RCPT order. */
export class LmtpReplies {
  /** Replies still expected. */
  remaining: number;
  /** Index in `recipients` of the recipient the next reply is for. */
  next = 0;
  constructor(
    /** The accepted recipients' RCPT indexes when the first reply came. */
    readonly recipients: readonly number[],
  ) {
    this.remaining = Math.max(1, recipients.length);
  }
}

/**
 * Whether a reply with this code can answer the entry. Only codes tied to one command are checked: 354 answers
 * DATA alone, 334 and 235 an AUTH command or AUTH response, 221 QUIT. Every other code can answer anything, so
 * normal (and pipelined) traffic pairs strictly in order.
 */
export function canAnswer(code: number, entry: PendingEntry): boolean {
  const command = entry.command;
  switch (code) {
    case 354:
      return command !== null && command.kind === 'command' && command.verb === 'DATA';
    case 334:
    case 235:
      return command !== null && command.verb === 'AUTH';
    case 221:
      return command !== null && command.kind === 'command' && command.verb === 'QUIT';
    default:
      return true;
  }
}

/** RFC 5321 4.5.3.1.5: the longest reply line (code and CRLF included) a server sends. */
export const MAX_REPLY_LINE_BYTES = 512;

export class PendingQueue {
  /**
   * Waiting entries at [head, tail); the slots outside are null. The array keeps its room when the queue empties,
   * so that a connection's commands, queued and answered one at a time, reuse one backing store.
   */
  private readonly entries: (PendingEntry | null)[] = [null, null, null, null];
  private head = 0;
  private tail = 0;
  /**
   * Replies the client proved were sent (a command after an AUTH step, which waits for its reply) that the reply
   * stream has not shown, with no reply read since. A hole in the reply stream that follows can hold just them:
   * then the commands still waiting keep their places (`gapHoldsMissingReplies`).
   */
  private unseenReplies = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.tail - this.head;
  }

  /** Adds an entry; false when the queue was full and has been cleared first (the caller flags it). */
  push(entry: PendingEntry): boolean {
    let kept = true;
    if (this.size >= this.limit) {
      this.clear();
      kept = false;
    }
    if (this.tail === this.entries.length) this.entries.push(entry);
    else this.entries[this.tail] = entry;
    this.tail++;
    return kept;
  }

  peek(): PendingEntry | null {
    return this.head < this.tail ? (this.entries[this.head] ?? null) : null;
  }

  /** Drops the head (its reply arrived, or it is skipped). */
  shift(): void {
    if (this.head >= this.tail) return;
    const entries = this.entries;
    entries[this.head] = null;
    this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else if (this.head > 64 && this.head * 2 > this.tail) {
      entries.copyWithin(0, this.head, this.tail);
      entries.fill(null, this.tail - this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
  }

  clear(): void {
    // A queue cleared at its limit gives its large array back; a small one keeps its room.
    if (this.entries.length > 64) this.entries.length = 0;
    else this.entries.fill(null, this.head, this.tail);
    this.head = 0;
    this.tail = 0;
    this.unseenReplies = 0;
  }

  /** A reply was sent (the client's next command proves it) but the capture has not shown it. */
  replyMissing(): void {
    this.unseenReplies++;
  }

  /** A reply was read: the replies proved missing before it were not in the reply stream after all. */
  replyRead(): void {
    this.unseenReplies = 0;
  }

  /**
   * A hole of `length` bytes in the reply stream: true when it can hold only the replies proved missing (each one
   * line of at most MAX_REPLY_LINE_BYTES), so that the waiting entries still await their own replies. Either way
   * the proved replies are accounted for.
   */
  gapHoldsMissingReplies(length: number): boolean {
    const unseen = this.unseenReplies;
    this.unseenReplies = 0;
    return unseen > 0 && length > 0 && length <= unseen * MAX_REPLY_LINE_BYTES;
  }

  /** The first entry after the head that a reply with this code can answer, or null. */
  laterAnswering(code: number): PendingEntry | null {
    for (let i = this.head + 1; i < this.tail; i++) {
      const entry = this.entries[i] as PendingEntry;
      if (canAnswer(code, entry)) return entry;
    }
    return null;
  }

  private indexOf(entry: PendingEntry): number {
    for (let i = this.head; i < this.tail; i++) if (this.entries[i] === entry) return i;
    return -1;
  }

  /** Takes one entry out wherever it is; false when it is not waiting. */
  remove(entry: PendingEntry): boolean {
    const index = this.indexOf(entry);
    if (index < 0) return false;
    if (index === this.head) this.shift();
    else {
      const entries = this.entries;
      entries.copyWithin(index, index + 1, this.tail);
      this.tail--;
      entries[this.tail] = null;
    }
    return true;
  }

  has(entry: PendingEntry): boolean {
    return this.indexOf(entry) >= 0;
  }
}
