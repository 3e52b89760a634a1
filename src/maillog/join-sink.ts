/**
 * The join step between the analyzer and the output sinks: each closed session is joined with the MTA logs
 * (session-join.ts) and handed on, with its `maillog` field when the logs say something about it, to every
 * inner sink in order. At the close it reports the counts (lines read, bad lines, sessions joined, log entries
 * outside the capture) through `onNote`.
 *
 * Live (`holdMs` > 0): the MTA logs a message's delivery after the session that brought it closed, so each
 * session is held that long (wall time) before the join, at most {@link MAX_HELD_SESSIONS} at once (the oldest
 * then goes early); followed logs are polled before each join.
 */

import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import type { LogFollower } from './log-file.js';
import type { LogIndex } from './log-index.js';
import { createJoinState, joinSession, outsideCapture } from './session-join.js';
import { withSessionLog } from './session-log.js';

export const MAX_HELD_SESSIONS = 1000;

export interface JoinSinkOptions {
  readonly index: LogIndex;
  readonly sinks: readonly Sink[];
  readonly followers?: readonly LogFollower[];
  /** Live: wall-clock milliseconds a closed session waits for its log lines (0: none). */
  readonly holdMs?: number;
  readonly onNote?: (text: string) => void;
  /** Wall clock, for the live hold (tests give their own). */
  readonly now?: () => number;
}

export interface JoinSink extends Sink {
  /** Joins one session now (transcript and bounces, which hold all sessions anyway). */
  join(session: SmtpSession): SmtpSession;
  /** The closing note (also given to onNote at close). */
  note(): string;
}

export function createJoinSink(options: JoinSinkOptions): JoinSink {
  const { index, sinks } = options;
  const state = createJoinState();
  const holdMs = options.holdMs ?? 0;
  const now = options.now ?? Date.now;
  const held: { session: SmtpSession; due: number }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let pumping: Promise<void> = Promise.resolve();
  // Live: followed logs are read every second too, so a rotation between two joins is not missed.
  const poller =
    holdMs > 0 && (options.followers ?? []).length > 0
      ? setInterval(() => {
          pumping = pumping.then(async () => {
            for (const follower of options.followers ?? []) await follower.poll();
          });
        }, 1000)
      : null;
  poller?.unref?.();

  const join = (session: SmtpSession): SmtpSession => {
    const log = joinSession(session, index, state);
    return log === null ? session : withSessionLog(session, log);
  };

  async function forward(session: SmtpSession): Promise<void> {
    for (const follower of options.followers ?? []) await follower.poll();
    const joined = join(session);
    for (const sink of sinks) await sink.sessionClosed(joined);
  }

  async function release(all: boolean): Promise<void> {
    const t = now();
    while (held.length > 0) {
      const first = held[0];
      if (first === undefined || (!all && first.due > t && held.length <= MAX_HELD_SESSIONS)) break;
      held.shift();
      await forward(first.session);
    }
  }

  function schedule(): void {
    if (timer !== null || held.length === 0) return;
    const wait = Math.max(0, (held[0]?.due ?? now()) - now());
    timer = setTimeout(() => {
      timer = null;
      pumping = pumping.then(() => release(false)).then(schedule);
    }, wait);
    timer.unref?.();
  }

  function note(): string {
    const c = index.counters;
    const outside = outsideCapture(index);
    const parts = [
      `${c.lines} line(s) read (${c.postfixLines} Postfix, ${c.eximLines} Exim, ${c.otherProgramLines} of other programs, ${c.badLines} bad)`,
      `${state.sessionsJoined} session(s), ${state.transactionsJoined} transaction(s) and ${state.recipientFates} recipient fate(s) joined`,
      `${outside.lines} log entries outside the capture (${outside.queueIds} queue id(s))`,
    ];
    if (c.queueIdsEvicted > 0) parts.push(`${c.queueIdsEvicted} queue id(s) dropped at the index limit`);
    return `maillog: ${parts.join('; ')}`;
  }

  return {
    name: 'maillog-join',
    join,
    note,
    async sessionClosed(session) {
      if (holdMs <= 0) return forward(session);
      held.push({ session, due: now() + holdMs });
      if (held.length > MAX_HELD_SESSIONS) {
        pumping = pumping.then(() => release(false));
        await pumping;
      }
      schedule();
    },
    async close(summary: RunSummary) {
      if (timer !== null) clearTimeout(timer);
      if (poller !== null) clearInterval(poller);
      timer = null;
      await pumping;
      await release(true);
      for (const follower of options.followers ?? []) await follower.close();
      options.onNote?.(note());
      for (const sink of sinks) await sink.close(summary);
    },
  };
}
