/**
 * The closed sessions the dashboard keeps: a bounded window, oldest dropped first.
 *
 * Limits: live runs keep the most recent {@link LIVE_WINDOW} sessions by default, file runs up to
 * {@link OFFLINE_WINDOW}; every drop is counted so the screen can say how many are not shown. A ring
 * buffer makes `push` O(1); `items()` builds the ordered array once per change (`version`). A session can be
 * replaced in place by a later copy of it (the copy the MTA log join made, with the recipients' fates).
 */

import type { SmtpSession } from '../model/types.js';

export const LIVE_WINDOW = 5_000;
export const OFFLINE_WINDOW = 50_000;

export interface SessionWindow {
  readonly limit: number;
  /** Sessions pushed out by the limit so far. */
  readonly dropped: number;
  /** Sessions received so far (kept and dropped). */
  readonly total: number;
  /** Increases on every push: a cheap "has it changed" check. */
  readonly version: number;
  push(session: SmtpSession): void;
  /** Whether a session with this id is kept. */
  has(id: string): boolean;
  /** Puts `session` in the place of the kept session with its id (a later copy of it); false when none is kept. */
  replace(session: SmtpSession): boolean;
  /** Kept sessions, oldest first. The array is shared until the next push: do not modify it. */
  items(): readonly SmtpSession[];
}

export function createSessionWindow(limit: number): SessionWindow {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`session window limit must be a positive integer, not ${limit}`);
  const ring: SmtpSession[] = [];
  let head = 0; // index of the oldest once the ring is full
  let dropped = 0;
  let total = 0;
  let version = 0;
  let ordered: readonly SmtpSession[] | null = [];
  // Where each kept session sits in the ring, by id.
  const slots = new Map<string, number>();
  return {
    limit,
    get dropped() {
      return dropped;
    },
    get total() {
      return total;
    },
    get version() {
      return version;
    },
    push(session) {
      total++;
      version++;
      ordered = null;
      if (ring.length < limit) {
        slots.set(session.id, ring.length);
        ring.push(session);
        return;
      }
      const old = ring[head];
      if (old !== undefined && slots.get(old.id) === head) slots.delete(old.id);
      ring[head] = session;
      slots.set(session.id, head);
      head = (head + 1) % limit;
      dropped++;
    },
    has(id) {
      return slots.has(id);
    },
    replace(session) {
      const slot = slots.get(session.id);
      if (slot === undefined) return false;
      ring[slot] = session;
      version++;
      ordered = null;
      return true;
    },
    items() {
      if (ordered === null)
        ordered = head === 0 ? ring.slice() : [...ring.slice(head), ...ring.slice(0, head)];
      return ordered;
    },
  };
}

/**
 * How sessions reach the window: `closed` as each session closes, `joined` with its copy after the --maillog
 * join (when `joined` is true). For capture files the join hands a session on before the analyzer gives it to
 * `closed`, so the first to come is kept and the other replaces it or is dropped. Live, the joined copy comes
 * up to the join's hold later: it takes the place of the first one, unless the window has dropped that one
 * meanwhile (then it is not kept again). The ids waiting for their copy are bounded by the sessions the join
 * holds (maillog/join-sink.ts, MAX_HELD_SESSIONS).
 */
export function windowFeeds(
  window: SessionWindow,
  joined: boolean,
): { closed(session: SmtpSession): void; joined(session: SmtpSession): void } {
  const awaitingJoin = new Set<string>();
  return {
    closed(session) {
      if (window.has(session.id)) return;
      window.push(session);
      if (joined) awaitingJoin.add(session.id);
    },
    joined(session) {
      const waited = awaitingJoin.delete(session.id);
      if (!window.replace(session) && !waited) window.push(session);
    },
  };
}
