/**
 * The closed sessions the dashboard keeps: a bounded window, oldest dropped first.
 *
 * Limits: live runs keep the most recent {@link LIVE_WINDOW} sessions by default, file runs up to
 * {@link OFFLINE_WINDOW}; every drop is counted so the screen can say how many are not shown. A ring
 * buffer makes `push` O(1); `items()` builds the ordered array once per change (`version`).
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
        ring.push(session);
        return;
      }
      ring[head] = session;
      head = (head + 1) % limit;
      dropped++;
    },
    items() {
      if (ordered === null)
        ordered = head === 0 ? ring.slice() : [...ring.slice(head), ...ring.slice(0, head)];
      return ordered;
    },
  };
}
